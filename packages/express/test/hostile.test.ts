import { runHostileSuite } from '@wsgate/conformance';
import express from 'express';
import { buildOn } from './app.js';

// Express 5 only: the hostile-input suite is about the gate and Node's parser, not the major.
runHostileSuite('express', buildOn(express));

import { type BuildApp, listening, PRIVATE_PATH, runConformanceSuiteOn } from '@wsgate/conformance';
import { websocket, wsgate } from '../src/index.js';
import { majors } from './majors.js';

const buildOn =
  (express: (typeof majors)[number]['module']): BuildApp =>
  async (fixture) => {
    const app = express();
    // The recommended setup: wsgate owns every upgrade from the server's first request on.
    app.use(wsgate({ logger: fixture.logger }));
    app.get('/health', (_req, res) => {
      res.send('ok');
    });
    // The framework's own auth middleware, before the endpoint: runs before the 101.
    app.use(PRIVATE_PATH, (req, res, next) => {
      const user = fixture.authenticate(req.headers, req.originalUrl);
      if (!user) {
        res.status(401).set('WWW-Authenticate', 'Bearer').json({ code: 'AUTHENTICATION_REQUIRED' });
        return;
      }
      res.locals.user = user;
      next();
    });
    for (const endpoint of fixture.endpoints) {
      app.get(
        endpoint.path,
        websocket({ ...endpoint.options, logger: fixture.logger }, (ws, req, context) =>
          endpoint.onOpen(ws, { user: req.res?.locals.user, context, headers: req.headers }),
        ),
      );
    }
    return listening(app.listen(0, '127.0.0.1'));
  };

runConformanceSuiteOn('express', majors, buildOn);

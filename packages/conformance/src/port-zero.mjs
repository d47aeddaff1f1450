// Preloaded (`node --import`) into an example that listens on a fixed port, such as the README's
// one-liner (`app.listen(3000)`): every server listens on a free port of 127.0.0.1 instead, and
// prints the port it got on stderr, so a test can run the file exactly as users copy it.
import net from 'node:net';

const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function listenOnFreePort(...args) {
  this.once('listening', () => {
    process.stderr.write(`wsgate-test-listening ${this.address().port}\n`);
  });
  const callbacks = args.filter((arg) => typeof arg === 'function');
  const first = args[0];
  const rewritten =
    first !== null && typeof first === 'object'
      ? [{ ...first, port: 0, host: '127.0.0.1' }, ...callbacks]
      : [0, '127.0.0.1', ...callbacks];
  return listen.apply(this, rewritten);
};

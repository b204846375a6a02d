// Smoke test of the installed package through require(): loop, timer, TCP echo.
const as = require('evasync');

as.startEventLoop(() => {
  as.delay(() => {
    const server = as.tcpServer('127.0.0.1', 0, (s, d) => as.writeSocketData(s, d));
    as.tcpConnect('127.0.0.1', server.port, (s, d) => {
      if (d.toString() !== 'ping') throw new Error(`echo returned ${d}`);
      as.closeSocket(s);
      server.close();
    }, { data: 'ping' });
  }, { time: 0.01 });
}).then(() => console.log(`cjs smoke ok (driver ${process.platform === 'win32' ? 'thread' : 'main'})`));

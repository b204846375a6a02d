// Smoke test of the installed package through import.
import * as as from 'evasync';
import { delay, stats } from 'evasync';

let fired = false;
await as.startEventLoop(() => {
  delay(() => {
    fired = stats().activeTimers === 0;
  });
});
if (!fired) throw new Error('the timer did not fire');
console.log('esm smoke ok');

#!/usr/bin/env node
// The `ferry` command (package bin): runs the compiled CLI.
import('../dist/control/cli/main.js').catch((err) => {
  if (err && err.code === 'ERR_MODULE_NOT_FOUND') {
    process.stderr.write('ferry is not built yet: run `npm run setup` in the checkout\n');
    process.exit(1);
  }
  throw err;
});

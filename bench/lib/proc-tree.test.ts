import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parentMap, processTree } from './proc-tree.js';

describe('processTree', () => {
  it('walks children of children from a parent map', () => {
    const parents = new Map([[10, 1], [11, 10], [12, 11], [13, 1], [14, 12]]);
    expect(processTree([10], parents).sort()).toEqual([10, 11, 12, 14]);
    expect(processTree([99], parents)).toEqual([]); // gone: nothing
  });

  it('finds a real grandchild, and drops it once it is killed', async () => {
    // sh starts sleep as its child: the tree of this process holds both.
    const sh = spawn('sh', ['-c', 'sleep 30 & wait'], { stdio: 'ignore' });
    try {
      let tree: number[] = [];
      for (let i = 0; i < 50 && tree.length < 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        tree = processTree([process.pid]);
      }
      expect(tree).toContain(sh.pid);
      const sleeper = tree.find((p) => parentMap().get(p) === sh.pid);
      expect(sleeper).toBeDefined();
      process.kill(sleeper!, 'SIGKILL');
      await new Promise((r) => sh.once('exit', r));
      expect(processTree([process.pid])).not.toContain(sleeper);
    } finally {
      sh.kill('SIGKILL');
    }
  });
});

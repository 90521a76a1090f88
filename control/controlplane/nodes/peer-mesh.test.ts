/** Which address other nodes dial to reach a node's peer listener. */
import { describe, expect, it } from 'vitest';
import type { NodeInfo } from '../../ferryd/proto.js';
import { dialable } from './peer-mesh.js';

const node = (address: string, peerAddress: string) => ({ address, info: { peerAddress } as NodeInfo });

describe('dialable peer address', () => {
  it('keeps a peer listener bound to one address', () => {
    expect(dialable(node('10.0.0.5:7070', '10.1.0.5:7071'))).toBe('10.1.0.5:7071');
  });

  it('dials a wildcard listener at the host the control plane reaches ferryd by', () => {
    expect(dialable(node('10.0.0.5:7070', '0.0.0.0:7071'))).toBe('10.0.0.5:7071');
    expect(dialable(node('[fd00::5]:7070', '[::]:7071'))).toBe('[fd00::5]:7071');
  });
});

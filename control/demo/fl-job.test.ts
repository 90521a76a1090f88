import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { compileSpecText } from '../chain/kinds.js';
import { network } from '../fl/train/network.js';
import { JOB_FILE_PATH, jobYaml } from './fl-job.js';

describe('the demo job document', () => {
  const text = readFileSync(JOB_FILE_PATH, 'utf8');

  it('chains/fl-digits/job.yaml is the layout the MLP trains', () => {
    const { jobs, errors } = compileSpecText(text, JOB_FILE_PATH);
    expect(errors).toEqual([]);
    expect(jobs[0]!.job!.layers).toEqual(network('mlp').layers);
    expect(jobs[0]!.job!.paramCount).toBe(network('mlp').paramCount);
  });

  it('fitted to a run: the run\'s rounds, clients, model; quorum scaled; still a valid job', () => {
    const net = network('logreg');
    const { yaml, name } = jobYaml(text, { rounds: 5, clients: 10, layers: net.layers });
    expect(name).toBe('fl-digits');
    const { jobs, errors } = compileSpecText(yaml, 'fitted.yaml');
    expect(errors).toEqual([]);
    const job = jobs[0]!.job!;
    expect(job).toMatchObject({ rounds: 5, clients: 10, quorum: 8, paramCount: 650, layers: net.layers });
    // the file's comments are kept
    expect(yaml).toContain('# Federated averaging of the digits MLP');
    // one client: quorum 1, not 0
    expect(compileSpecText(jobYaml(text, { rounds: 1, clients: 1, layers: net.layers }).yaml, 'one.yaml').jobs[0]!.job!.quorum).toBe(1);
  });
});

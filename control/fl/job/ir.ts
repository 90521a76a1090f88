/**
 * A compiled AggregationJob: the round rules every coordinator needs and
 * the aggregator tree, by stage id of the internal chain the job deploys as
 * (compile.ts). It rides on that chain's IR (ChainIR.job), so placement,
 * deployment and ProgramChain see one object.
 */
import type { Layer } from '../model.js';
import type { Stragglers, Weighting } from './schema.js';

export interface LeafGroup {
  /** The top stage (two levels) or a mid stage (three). */
  parent: number;
  leaves: number[];
}

/** The rules a job's rounds run by: what every node's coordinator gets
 * (node.proto JobConfig; control/ferryd/jobs/config.ts's JobSpec). */
export interface RoundRules {
  name: string;
  tenant: string;
  paramCount: number;
  /** Empty when the model was given as a parameter count. */
  layers: Layer[];
  initSeed: number;
  rounds: number;
  clients: number;
  /** Resolved to a count (a percentage rounds up). */
  quorum: number;
  roundDeadlineMs: number;
  stragglers: Stragglers;
  /** 0 under drop. */
  maxStaleness: number;
  weighting: Weighting;
  fanIn: number;
}

export interface JobIR extends RoundRules {
  levels: 2 | 3;
  leaves: number[];
  mids: number[];
  top: number;
  groups: LeafGroup[];
  /** 4 * paramCount: the model as clients download it. */
  modelBytes: number;
  /** The pool buffer an update or a model takes: roundUp64(64 + modelBytes). */
  modelClassBytes: number;
  /** Hints as written; the control plane checks them against its nodes. */
  placement: { nodes?: string[]; top?: string };
}

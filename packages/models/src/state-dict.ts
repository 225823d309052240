/** Loading a PyTorch state_dict into a catalog module: the buffers taken out, then what the module itself adapts. */
import type { HostTensor, Module } from '@tessera/graph-dsl';
import { takeBuffers } from './buffers.ts';

/** A module that fits a state_dict saved for another configuration of it (a ViT trained at another image size), saying what it changed. */
export interface AdaptsStateDict {
  adaptStateDict(stateDict: ReadonlyMap<string, HostTensor>): { readonly stateDict: Map<string, HostTensor>; readonly notes: readonly string[] };
}

function adapts(module: Module): module is Module & AdaptsStateDict {
  return typeof (module as Partial<AdaptsStateDict>).adaptStateDict === 'function';
}

/** The parameters of a state_dict for `module` (buffers checked and taken out, then the module's adaptation) and notes on what was adapted. */
export function loadStateDict(module: Module, stateDict: ReadonlyMap<string, HostTensor>, source?: string): { weights: Map<string, HostTensor>; notes: readonly string[] } {
  const params = takeBuffers(module, stateDict, source);
  if (!adapts(module)) return { weights: params, notes: [] };
  const { stateDict: weights, notes } = module.adaptStateDict(params);
  return { weights, notes };
}

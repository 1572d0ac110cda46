/**
 * execa, loaded on first use: importing it costs ~150 ms, which every tzbuild start would pay even
 * when a build is fully cached and never runs a step.
 */
import type { execa as ExecaFunction } from 'execa';

export type Execa = typeof ExecaFunction;

let loading: Promise<Execa> | undefined;

/** The execa function; the module is imported once, by the first caller. */
export function loadExeca(): Promise<Execa> {
  loading ??= import('execa').then((module) => module.execa);
  return loading;
}

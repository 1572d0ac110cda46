/**
 * Signals while a container runs attached to tzbuild's terminal (RunSpec.attach): Ctrl-C and
 * Ctrl-\ reach the container's processes directly (they share our process group, or the runtime
 * relays the terminal and forwards them), so tzbuild itself ignores them and outlives the run;
 * TERM and HUP sent to tzbuild alone go to `passOn`, as `docker run` proxies signals.
 */
export function attachSignals(passOn: (signal: NodeJS.Signals) => void): () => void {
  const ignore = (): void => {};
  const handlers: [NodeJS.Signals, (signal: NodeJS.Signals) => void][] = [
    ['SIGINT', ignore],
    ['SIGQUIT', ignore],
    ['SIGTERM', passOn],
    ['SIGHUP', passOn],
  ];
  for (const [signal, handler] of handlers) process.on(signal, handler);
  return () => {
    for (const [signal, handler] of handlers) process.off(signal, handler);
  };
}

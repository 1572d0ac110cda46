/**
 * A private tmux server for tests that need a real terminal: sessions run a shell command, the
 * test reads the screen as a person would (`capture-pane`), types keys and resizes the window.
 * Each session's command is followed by `[exit N]` and a long sleep, so its last screen stays.
 */
import { execa } from 'execa';

export class TmuxServer {
  /** Our own server socket, so a test never touches anyone else's sessions. */
  private readonly socket = `tzbuild-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  /** Installs tmux when missing (apt-get). */
  static async ensureInstalled(): Promise<void> {
    if ((await execa('tmux', ['-V'], { reject: false })).exitCode === 0) return;
    const install = () => execa('apt-get', ['install', '-y', '--no-install-recommends', 'tmux'], { reject: false });
    if ((await install()).exitCode !== 0) {
      await execa('apt-get', ['update']);
      await execa('apt-get', ['install', '-y', '--no-install-recommends', 'tmux']);
    }
  }

  tmux(...args: string[]) {
    return execa('tmux', ['-L', this.socket, ...args]);
  }

  /** Starts `script` (sh) in a new session of `width`×`height`; returns the session's name. */
  async start(name: string, script: string, width = 120, height = 40): Promise<string> {
    const wrapped = `${script}; echo "[exit $?]"; sleep 600`;
    await this.tmux('new-session', '-d', '-s', name, '-x', String(width), '-y', String(height), 'sh', '-c', wrapped);
    return name;
  }

  /** The visible screen (or the whole scrollback), trailing blanks trimmed. */
  async capture(session: string, history = false): Promise<string> {
    const { stdout } = await this.tmux('capture-pane', '-p', '-t', session, ...(history ? ['-S', '-'] : []));
    return stdout.replace(/\s+$/, '');
  }

  /** Polls the screen until `ready` holds; throws with the last screen after `timeoutMs`. */
  async waitForScreen(session: string, ready: (screen: string) => boolean, timeoutMs = 60_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = await this.capture(session);
      if (ready(screen)) return screen;
      if (/^\[exit \d+\]$/m.test(screen)) break; // the command ended without showing it
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`screen never showed what was expected; last screen:\n${screen}`);
  }

  /** Waits for the command to end; its exit code, the final screen and the whole scrollback. */
  async waitForExit(session: string, timeoutMs = 60_000): Promise<{ exit: number; screen: string; history: string }> {
    const screen = await this.waitForScreen(session, (text) => /^\[exit \d+\]$/m.test(text), timeoutMs);
    const exit = Number(/^\[exit (\d+)\]$/m.exec(screen)![1]);
    return { exit, screen, history: await this.capture(session, true) };
  }

  /** Types `keys` (tmux key names: `Enter`, `C-c`, `C-d`, or literal text with `-l`). */
  async send(session: string, ...keys: string[]): Promise<void> {
    await this.tmux('send-keys', '-t', session, ...keys);
  }

  /** Types a line of text and Enter. */
  async type(session: string, line: string): Promise<void> {
    await this.tmux('send-keys', '-t', session, '-l', line);
    await this.tmux('send-keys', '-t', session, 'Enter');
  }

  async resize(session: string, width: number, height: number): Promise<void> {
    await this.tmux('resize-window', '-t', session, '-x', String(width), '-y', String(height));
  }

  async kill(): Promise<void> {
    await this.tmux('kill-server').catch(() => undefined);
  }
}

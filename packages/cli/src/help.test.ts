import { describe, expect, it } from 'vitest';
import { runCli } from './cli-testing.ts';
import { version } from './main.ts';

const COMMANDS = ['list', 'summary', 'compile', 'export', 'run', 'bench', 'train', 'translate', 'help'];
const quiet = () => {};

const cli = (...argv: string[]) => runCli(argv, quiet);

describe('usage and version', () => {
  it('every command prints its usage on --help, -h and `tessera help COMMAND`', async () => {
    for (const command of COMMANDS) {
      const forms = [[command, '--help'], [command, '-h'], ['help', command], [command, 'some_model', '--config', 'a=1', '--help']];
      for (const argv of forms) {
        const { out, error } = await cli(...argv);
        expect(error, argv.join(' ')).toBeUndefined();
        expect(out, argv.join(' ')).toMatch(new RegExp(`^usage: tessera ${command}\\n  ${command} `));
      }
    }
  });

  it('options after --help are not parsed (a usage, not an error)', async () => {
    expect((await cli('run', 'masked_softmax', '--config', '--help')).out).toMatch(/^usage: tessera run\n/);
    expect((await cli('export', '--onnx', '-h')).out).toMatch(/^usage: tessera export\n/);
  });

  it('the whole usage: no command, --help, -h, help', async () => {
    for (const argv of [[], ['--help'], ['-h'], ['help']]) {
      const { out } = await cli(...argv);
      expect(out, argv.join(' ')).toMatch(/^usage: tessera <command>\n/);
      for (const command of COMMANDS) expect(out).toMatch(new RegExp(`^  ${command} `, 'm'));
      expect(out).toContain('--version');
    }
  });

  it('an unknown command, and help with two, are usage errors', async () => {
    expect((await cli('help', 'frobnicate')).error).toMatch(/^unknown command 'frobnicate'\nusage: tessera <command>/);
    expect((await cli('frobnicate', '--help')).error).toMatch(/^unknown command 'frobnicate'/);
    expect((await cli('help', 'run', 'list')).error).toMatch(/^tessera help takes one COMMAND/);
  });

  it('--version and -v print the package version', async () => {
    expect(version()).toMatch(/^\d+\.\d+\.\d+/);
    expect((await cli('--version')).out).toBe(version());
    expect((await cli('-v')).out).toBe(version());
  });
});

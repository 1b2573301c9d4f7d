import { Command, type CommanderError } from 'commander';
import { AlbaError } from '../errors.js';
import { closest } from '../recipe/suggest.js';
import { version } from '../version.js';
import { buildCommand } from './build-command.js';
import { completionCommand } from './completion.js';
import { containerCommand } from './container-command.js';
import { lockCommand } from './lock-command.js';
import { pagesCommand } from './pages-command.js';
import { sbomCommand } from './sbom-command.js';
import { refuseRepeatedValues } from './single-value.js';
import { staticCommand } from './static-command.js';
import { verifyCommand } from './verify-command.js';

/** The command tree. Each command imports the library only when it runs: a push does not pay for OpenPGP or the resolver. */
export function program(): Command {
  const root: Command = new Command('alba')
    .description(`alba ${version}: daemonless builder of distroless multi-arch OCI images from Debian packages`)
    .version(version, '--version', "print alba's version")
    .option('-q, --quiet', 'print errors and the final result only (no trace, no progress)')
    .helpCommand(false)
    .addCommand(lockCommand())
    .addCommand(buildCommand())
    .addCommand(sbomCommand())
    .addCommand(verifyCommand())
    .addCommand(containerCommand())
    .addCommand(staticCommand())
    .addCommand(pagesCommand())
    .addCommand(
      new Command('help')
        .description('print the usage of a command')
        .argument('[command...]', 'e.g. container push, or gc')
        .action((words: string[]): void => help(root, words)),
    )
    .addCommand(completionCommand())
    .addHelpText(
      'after',
      '\nExample:\n  alba lock recipes/busybox.yaml --mirror apt && alba build recipes/busybox.yaml --push docker://registry.example:5000\n\nSee README.md and docs/recipe.md.',
    );
  const configure = (command: Command): void => {
    command
      .configureOutput({ outputError: () => undefined })
      .configureHelp({ showGlobalOptions: true })
      .exitOverride((err) => {
        throw err.code.startsWith('commander.help') || err.code === 'commander.version' ? err : usage(err, command);
      });
    refuseRepeatedValues(command, fullName(command));
    if (command.commands.length > 0 && command !== root) command.allowExcessArguments().action(() => unknownSubcommand(command));
    command.commands.forEach(configure);
  };
  configure(root);
  return root;
}

/** `alba help [WORDS]`: the usage of the command WORDS names (`gc`: of each command named gc). */
function help(root: Command, words: string[]): void {
  const exact = words.reduce<Command | undefined>((c, w) => c?.commands.find((s) => s.name() === w), root);
  const all = (c: Command): Command[] => [c, ...c.commands.flatMap(all)];
  const found = exact !== undefined ? [exact] : words.length === 1 ? all(root).filter((c) => c !== root && c.name() === words[0]) : [];
  if (found.length === 0) {
    const commands = all(root).filter((c) => c !== root);
    const guess = closest(words.join(' '), [
      ...new Set([...commands.map((c) => c.name()), ...commands.map((c) => fullName(c).replace(/^alba /, ''))]),
    ]);
    throw new AlbaError('USAGE', `alba help: no command "${words.join(' ')}"`, {
      hint: guess === undefined ? 'run `alba --help` for the commands' : `did you mean "alba help ${guess}"?`,
    });
  }
  found.forEach((c, i) => {
    if (i > 0) process.stdout.write('\n');
    c.outputHelp();
  });
}

function fullName(command: Command): string {
  return command.parent === null ? command.name() : `${fullName(command.parent)} ${command.name()}`;
}

/** A commander parse error as USAGE: `alba container push: unknown option '--tga'` with commander's suggestion as the hint. */
function usage(err: CommanderError, command: Command): AlbaError {
  const suggestion = /\(Did you mean (.+)\?\)/.exec(err.message)?.[1];
  // `unknown option '--cred=alice:pass'`: the value of a mistyped option may be a secret, never echoed
  const message = (err.message.replace(/^error: /, '').split('\n')[0] ?? err.message).replace(/('-[^'=\s]*)=[^']*'/g, "$1=…'");
  return new AlbaError('USAGE', `${fullName(command)}: ${message}`, {
    hint: suggestion === undefined ? `run \`${fullName(command)} --help\` for its usage` : `did you mean ${suggestion}?`,
    cause: err,
  });
}

function unknownSubcommand(group: Command): never {
  const [word] = group.args;
  const names = group.commands.map((c) => c.name());
  if (word === undefined)
    throw new AlbaError('USAGE', `${fullName(group)} needs a subcommand: ${names.join(', ')}`, {
      hint: `run \`${fullName(group)} --help\` for their usage`,
    });
  const guess = closest(word, names);
  throw new AlbaError('USAGE', `unknown subcommand "${group.name()} ${word}"`, {
    hint: guess === undefined ? `${fullName(group)} has ${names.join(', ')}` : `did you mean "${fullName(group)} ${guess}"?`,
  });
}

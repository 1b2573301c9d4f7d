import { Argument, Command } from 'commander';
import { out } from './args.js';

/** `alba completion bash|zsh|fish`: prints a completion script made from the command tree. */
export function completionCommand(): Command {
  return new Command('completion')
    .description('print a shell completion script')
    .addArgument(new Argument('<shell>', 'bash, zsh or fish').choices(['bash', 'zsh', 'fish']))
    .addHelpText(
      'after',
      '\nExample:\n  source <(alba completion bash)          # bash, for this shell; or write it to ~/.local/share/bash-completion/completions/alba\n  alba completion zsh > "${fpath[1]}/_alba"\n  alba completion fish > ~/.config/fish/completions/alba.fish',
    )
    .action((shell: 'bash' | 'zsh' | 'fish', _flags: unknown, command: Command) => out(completionScript(shell, command.parent ?? command)));
}

/** Each command of the tree by its path (`''`, `container`, `container push`): its subcommands and options. */
function table(root: Command): Map<string, { subs: string[]; options: string[] }> {
  const rows = new Map<string, { subs: string[]; options: string[] }>();
  const walk = (command: Command, path: string): void => {
    const own = command.options.flatMap((o) => [o.long, o.short].filter((f): f is string => f !== undefined));
    rows.set(path, { subs: command.commands.map((c) => c.name()), options: [...new Set([...own, '--quiet', '-q', '--help', '-h'])] });
    for (const sub of command.commands) walk(sub, path === '' ? sub.name() : `${path} ${sub.name()}`);
  };
  walk(root, '');
  return rows;
}

/** The completion script of `root` for `shell`. */
export function completionScript(shell: 'bash' | 'zsh' | 'fish', root: Command): string {
  const rows = [...table(root)];
  const name = root.name();
  if (shell === 'fish') {
    // a path's words were all seen, and none of its subcommands yet
    const at = (path: string, subs: string[]): string =>
      [
        ...(path === '' ? ['__fish_use_subcommand'] : path.split(' ').map((w) => `__fish_seen_subcommand_from ${w}`)),
        ...(path !== '' && subs.length > 0 ? [`not __fish_seen_subcommand_from ${subs.join(' ')}`] : []),
      ].join('; and ');
    const lines = rows.flatMap(([path, { subs, options }]) => [
      ...(subs.length > 0 ? [`complete -c ${name} -f -n '${at(path, subs)}' -a '${subs.join(' ')}'`] : []),
      ...options.map((o) => `complete -c ${name} -n '${at(path, subs)}' ${o.startsWith('--') ? `-l ${o.slice(2)}` : `-s ${o.slice(1)}`}`),
    ]);
    return [`# fish completion for ${name}`, ...lines].join('\n');
  }
  const cases = (pick: 'subs' | 'options'): string =>
    rows.map(([path, row]) => `    '${path}') echo '${row[pick].join(' ')}' ;;`).join('\n');
  const fn = `_${name}`;
  const body = `${fn}_words() {
  case "$1" in
${cases('subs')}
  esac
}
${fn}_options() {
  case "$1" in
${cases('options')}
  esac
}
# the command path of the words before the cursor: each word that names a subcommand of the path so far
${fn}_path() {
  local path="" w
  for w in "$@"; do
    case " $(${fn}_words "$path") " in *" $w "*) path="\${path:+$path }$w" ;; esac
  done
  echo "$path"
}`;
  if (shell === 'zsh') {
    return `#compdef ${name}
${body}
${fn}() {
  local path="$(${fn}_path "\${(@)words[2,CURRENT-1]}")"
  if [[ "$PREFIX" == -* ]]; then compadd -- \${=$(${fn}_options "$path")}
  else
    local subs="$(${fn}_words "$path")"
    if [[ -n "$subs" ]]; then compadd -- \${=subs}; else _files; fi
  fi
}
if [[ "$funcstack[1]" == "${fn}" ]]; then ${fn} "$@"; else compdef ${fn} ${name}; fi`;
  }
  return `# bash completion for ${name}
${body}
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" path subs
  path="$(${fn}_path "\${COMP_WORDS[@]:1:COMP_CWORD-1}")"
  if [[ "$cur" == -* ]]; then COMPREPLY=($(compgen -W "$(${fn}_options "$path")" -- "$cur")); return; fi
  subs="$(${fn}_words "$path")"
  if [[ -n "$subs" ]]; then COMPREPLY=($(compgen -W "$subs" -- "$cur")); else COMPREPLY=($(compgen -f -- "$cur")); fi
}
complete -o filenames -F ${fn} ${name}`;
}

/** `flowruns completion bash|zsh`: a completion script for the shell (`source <(flowruns completion bash)`). */
import type { Command } from 'commander';

/** Every command path with its options, from the program itself, so completion cannot drift from it. */
function table(cli: Command): { path: string; words: string[] }[] {
  const rows: { path: string; words: string[] }[] = [];
  const walk = (cmd: Command, path: string[]) => {
    const subs = cmd.commands.map((c) => c.name());
    const flags = cmd.options.flatMap((o) => [o.long, o.short].filter((f): f is string => !!f));
    rows.push({ path: path.join(' '), words: [...new Set([...subs, ...flags, '--help'])] });
    for (const c of cmd.commands) walk(c, [...path, c.name()]);
  };
  walk(cli, []);
  return rows;
}

export function completionScript(cli: Command, shell: string): string {
  const rows = table(cli);
  const cases = rows.map((r) => `    "${r.path}") candidates="${r.words.join(' ')}" ;;`).join('\n');
  // The command path is the words that name a known (sub)command; option values are skipped.
  const known = `|${rows.map((r) => r.path).filter(Boolean).join('|')}|`;
  const body = `  local cmdpath="" w next known="${known}"
  for w in "\${words_before[@]}"; do
    next="\${cmdpath:+$cmdpath }$w"
    case "$known" in *"|$next|"*) cmdpath="$next" ;; esac
  done
  local candidates=""
  case "$cmdpath" in
${cases}
  esac`;
  if (shell === 'bash')
    return `# flowruns completion for bash: source <(flowruns completion bash)
_flowruns() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  local words_before=("\${COMP_WORDS[@]:1:COMP_CWORD-1}")
${body}
  COMPREPLY=($(compgen -W "$candidates" -- "$cur"))
}
complete -o default -F _flowruns flowruns
`;
  return `#compdef flowruns
# flowruns completion for zsh: source <(flowruns completion zsh)
_flowruns() {
  local -a words_before
  words_before=("\${(@)words[2,CURRENT-1]}")
${body}
  compadd -- \${=candidates}
}
if [[ "\${zsh_eval_context[-1]}" == loadautofunc ]]; then _flowruns "$@"; else compdef _flowruns flowruns; fi
`;
}

/** A typed command line that cannot be split: an open quote or a trailing backslash. */
export class CommandLineError extends Error {
  readonly code = 'command_line_invalid';
}

/**
 * Splits a command line into argv the way a POSIX shell does for the simple cases: words are
 * separated by whitespace, "double" and 'single' quotes group words (an empty pair is an empty
 * argument), and a backslash outside single quotes takes the next character literally. No
 * variables, globs or substitutions: the result is passed to exec, not to a shell.
 */
export function parseCommandLine(text: string): string[] {
  const args: string[] = [];
  let current = '';
  // A word exists once any character or quote pair is seen, so `""` yields one empty argument.
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (let index = 0; index < text.length; index += 1) {
    const char = text[index]!;
    if (quote === "'") {
      if (char === "'") quote = null;
      else current += char;
    } else if (char === '\\') {
      if (index + 1 >= text.length) throw new CommandLineError('The command ends with a backslash');
      const next = text[index + 1]!;
      // Inside double quotes a shell keeps the backslash unless it escapes one of these.
      if (quote === '"' && !'"\\$`'.includes(next)) current += char;
      current += next;
      inWord = true;
      index += 1;
    } else if (quote === '"') {
      if (char === '"') quote = null;
      else current += char;
    } else if (char === '"' || char === "'") {
      quote = char;
      inWord = true;
    } else if (/\s/.test(char)) {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += char;
      inWord = true;
    }
  }
  if (quote !== null) throw new CommandLineError(`The command has an unclosed ${quote} quote`);
  if (inWord) args.push(current);
  return args;
}

/**
 * Joins argv back into a line that parseCommandLine reads as the same argv: plain words stay
 * as they are, others are double-quoted with `"`, `\`, `$` and backtick escaped.
 */
export function formatCommandLine(args: readonly string[]): string {
  return args
    .map((arg) =>
      arg !== '' && !/[\s"'\\$`]/.test(arg) ? arg : `"${arg.replace(/["\\$`]/g, '\\$&')}"`,
    )
    .join(' ');
}

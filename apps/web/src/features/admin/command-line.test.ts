import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CommandLineError, formatCommandLine, parseCommandLine } from './command-line';

test('words are split on any run of whitespace', () => {
  assert.deepEqual(parseCommandLine('  xterm   -fa  Mono\t-fs 12 '), [
    'xterm',
    '-fa',
    'Mono',
    '-fs',
    '12',
  ]);
  assert.deepEqual(parseCommandLine('   '), []);
});

test('double and single quotes group words and can touch other text', () => {
  assert.deepEqual(parseCommandLine(`xterm -title "My notes" -e 'vim a b.txt'`), [
    'xterm',
    '-title',
    'My notes',
    '-e',
    'vim a b.txt',
  ]);
  assert.deepEqual(parseCommandLine(`--name="a b"'c d'e`), ['--name=a bc de']);
  assert.deepEqual(parseCommandLine(`echo "" ''`), ['echo', '', '']);
  assert.deepEqual(parseCommandLine(`say "it's" 'a "b"'`), ['say', "it's", 'a "b"']);
});

test('a backslash escapes the next character, as a shell does in and out of quotes', () => {
  assert.deepEqual(parseCommandLine(String.raw`open My\ File \"x\" \\`), [
    'open',
    'My File',
    '"x"',
    '\\',
  ]);
  assert.deepEqual(parseCommandLine(String.raw`a "q\"\\ \n" 'no\escape'`), [
    'a',
    String.raw`q"\ \n`,
    String.raw`no\escape`,
  ]);
});

test('an unclosed quote or a trailing backslash is an error, not a guess', () => {
  assert.throws(() => parseCommandLine('xterm -title "oops'), CommandLineError);
  assert.throws(() => parseCommandLine("xterm 'oops"), /unclosed ' quote/);
  assert.throws(() => parseCommandLine('xterm \\'), /backslash/);
});

test('formatting quotes only arguments that need it and parses back to the same argv', () => {
  assert.equal(formatCommandLine(['xterm', '-fs', '12']), 'xterm -fs 12');
  assert.equal(formatCommandLine(['xterm', '-title', 'My notes']), 'xterm -title "My notes"');
  assert.equal(formatCommandLine(['a', '']), 'a ""');
  for (const argv of [
    ['xterm', '-title', 'My notes'],
    ['sh', '-c', `echo "$HOME" 'x' \\ \`date\``],
    ['', 'tab\there', "it's"],
  ]) {
    assert.deepEqual(parseCommandLine(formatCommandLine(argv)), argv);
  }
});

/**
 * A LIKE/ILIKE pattern matching values that contain `text` literally: `%`, `_` and the escape
 * character `\` in it match only themselves (PostgreSQL's default LIKE escape is `\`).
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}

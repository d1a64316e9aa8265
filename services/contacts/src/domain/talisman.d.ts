// talisman ships no types: the two modules screening.ts uses, as their CommonJS exports are.
declare module 'talisman/metrics/jaro-winkler.js' {
  /** Jaro-Winkler similarity of two strings, 0 (nothing alike) to 1 (equal). */
  const jaroWinkler: (a: string, b: string) => number;
  export default jaroWinkler;
}

declare module 'talisman/phonetics/double-metaphone.js' {
  /** Primary and secondary Double Metaphone codes of a word (at most 4 letters each). */
  const doubleMetaphone: (word: string) => [string, string];
  export default doubleMetaphone;
}

/** "did you mean …?" suggestions, as Docker adds them to unknown names. */

/** Levenshtein distance, small inputs only (instruction, flag and stage names). */
export function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/** The closest candidate within a small distance, or undefined (case-insensitive compare). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  const lower = word.toLowerCase();
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    // Docker suggests only near misses: at most a couple of edits, fewer for short words.
    const limit = Math.min(2, Math.floor(Math.max(lower.length, 1) / 3) + 1);
    if (distance > 0 && distance <= limit && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Appends ` (did you mean X?)` when a close candidate exists. */
export function withSuggestion(message: string, word: string, candidates: Iterable<string>): string {
  const suggestion = closest(word, candidates);
  return suggestion === undefined ? message : `${message} (did you mean ${suggestion}?)`;
}

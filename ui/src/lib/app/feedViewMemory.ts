// Where the user was in the feed, kept while they look at a record's history or another
// view, so coming back shows the same rows at the same place.

export const feedViewMemory: { scrollTop: number; selectedSeq: number | null } = {
  scrollTop: 0,
  selectedSeq: null,
};

// The two errors seqkit.runtime raises, with the same meaning: InputError (a bad sample or feed: one line
// naming it) and SeqkitError (anything else a user can cause: a wrong file, a non-streaming model, ...).
export class SeqkitError extends Error {
  constructor(message) {
    super(message);
    this.name = 'SeqkitError';
  }
}

export class InputError extends SeqkitError {
  constructor(message) {
    super(message);
    this.name = 'InputError';
  }
}

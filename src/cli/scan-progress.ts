import cliProgress from 'cli-progress';
import type { Output } from './recordings-format.js';

/** Below this many files a scan is over before a bar would tell anything. */
const PROGRESS_FROM_FILES = 2_000;
/** Entries between two updates of the bar: drawing it is the expensive part. */
const UPDATE_EVERY = 500;

/**
 * A folder scan's entries, passed through as they come, with `Reading
 * recordings [bar] n/total` on a terminal's stderr while a big folder is
 * read (seconds at 50,000 recordings). The bar is cleared once the scan
 * ends, before the command prints; nothing is drawn on a pipe or a file.
 */
export async function* withScanProgress<T>(stderr: Output, total: number, entries: AsyncIterable<T>): AsyncGenerator<T> {
  if (stderr.isTTY !== true || total < PROGRESS_FROM_FILES) {
    yield* entries;
    return;
  }
  const bar = new cliProgress.SingleBar(
    {
      stream: stderr as NodeJS.WritableStream,
      format: 'Reading recordings [{bar}] {value}/{total}',
      hideCursor: true,
      clearOnComplete: true,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(total, 0);
  let read = 0;
  try {
    for await (const entry of entries) {
      read += 1;
      if (read % UPDATE_EVERY === 0) bar.update(read);
      yield entry;
    }
  } finally {
    bar.stop();
  }
}

const quieted = new WeakSet<NodeJS.WritableStream>();

/** `llm-replay recordings show ID --raw | head` closes the pipe early: stop writing, without a stack trace. */
export function quietOnClosedPipe<S extends NodeJS.WritableStream>(stream: S): S {
  if (!quieted.has(stream)) {
    quieted.add(stream);
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (!isClosedPipe(error)) throw error;
      (stream as unknown as { destroy(): void }).destroy();
    });
  }
  return stream;
}

/** Whether a write failed because the reader closed the pipe (`| head`). */
export function isClosedPipe(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EPIPE';
}

import type { Notification } from '../../interfaces/notify/notifier.js';

/** A notifier stand-in for the bot tests: the bot subscribes; the test emits. */
export function stubNotifier() {
  const listeners = new Set<(n: Notification) => void>();
  return {
    subscribe(listener: (n: Notification) => void) {
      listeners.add(listener);
      return () => void listeners.delete(listener);
    },
    emit: (n: Notification) => listeners.forEach((l) => l(n)),
    get listeners() {
      return listeners.size;
    },
  };
}

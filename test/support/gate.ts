/** A promise that resolves when `open()` is called: holds a handler call until the test lets it go. */
export function gate(): { passed: Promise<void>; open(): void } {
  let open!: () => void;
  const passed = new Promise<void>((resolve) => (open = resolve));
  return { passed, open };
}

export async function netns() {
  return "";
}

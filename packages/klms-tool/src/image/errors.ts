import { KlmsError } from "../errors.js";

/**
 * The error every image operation throws (code "Image"): what failed, and how to fix it, in one
 * message. `output` holds the builder's last lines (credentials removed), for callers that show more.
 */
export class ImageError extends KlmsError<"Image"> {
  override readonly name = "ImageError";
  /**
   * @param message what failed and how to fix it (never a credential)
   * @param output the builder's last output lines, credentials already removed; [] when none
   */
  constructor(
    message: string,
    readonly output: readonly string[] = [],
  ) {
    super("Image", message);
  }
}

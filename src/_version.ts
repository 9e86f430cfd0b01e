/**
 * This copy of the library's version (as in deno.json; a test keeps them equal). Handles carry it,
 * so that a handle from another version is refused by name. Internal.
 *
 * @module
 */
export const VERSION = "0.1.0";

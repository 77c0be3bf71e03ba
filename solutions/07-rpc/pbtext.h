/*
 * pbtext.h - messages as text, from pbgen's tables (given complete):
 * printed in protobuf's text format exactly as `protoc --decode` prints
 * them, and built from FIELD=VALUE assignments (sbctl's arguments).
 *
 * Usage:
 *     struct scoreboard_Score s = {0};
 *     char why[PB_TEXT_WHY_MAX];
 *     if (pb_text_assign(&scoreboard_Score_desc, &s, "player=ann", &arena,
 *                        why, sizeof why) == -1 ||
 *         pb_text_assign(&scoreboard_Score_desc, &s, "level=HARD", &arena,
 *                        why, sizeof why) == -1)
 *         ... why: "level: no value FOO in scoreboard.Level"
 *     pb_text_print(stdout, &scoreboard_Score_desc, &s);
 *         player: "ann"
 *         level: HARD
 *
 * The printer writes the fields in table order (field-number order), one
 * `name: value` line each, and leaves out what pb_encode leaves out (zero
 * numbers, false, empty strings, NULL sub-messages); a repeated field has
 * one line per item; a sub-message is `name {`, its fields indented two
 * more spaces, `}`. Values: integers in decimal; bools true/false; enums
 * by name (by number when the enum has no such value); strings and bytes
 * in double quotes with protoc's C escapes (\n \r \t \" \' \\, other bytes
 * below 0x20 or above 0x7e as three octal digits); floats and doubles as
 * protoc 3.21 prints them (%.6g, or %.9g when that does not read back as
 * the same float; %.15g or %.17g for doubles; inf, -inf, nan).
 *
 * Library code: never exits; failures are -1 (with errno for output
 * errors, with a reason in why for assignments).
 *
 * See also pbtext.c, pbwire.h, sbctl.c, README.md.
 */
#ifndef PBTEXT_H
#define PBTEXT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "pbwire.h"

#define PB_TEXT_WHY_MAX 256 /* room for a reason (pb_text_assign) */

/* Prints msg (a desc message) to out. Returns 0, or -1 with errno set when
 * out fails (ferror). */
int pb_text_print(FILE *out, const struct pb_msgdesc *desc, const void *msg);

/*
 * Sets one field of msg (a desc message, zeroed by the caller before the
 * first assignment) from "FIELD=VALUE". FIELD is a field's name in the
 * .proto, or NAME.FIELD... to reach into singular sub-messages (created
 * from the arena when NULL). A repeated field gets one more item per
 * assignment; a singular one is replaced. VALUE: integers in decimal
 * (a '-' for signed types), checked against the type's range; floats and
 * doubles as strtod reads them (1.5, 1e300, inf, nan); bools true or
 * false; enums by value name or number (int32); strings and bytes as
 * given, byte for byte (may be empty). Strings, bytes and arrays are
 * copied to the arena; the assignment text may go afterwards. Repeated
 * sub-messages cannot be assigned. Returns 0, or -1 with the reason in
 * why (why_size bytes), e.g. "count: not a number from 0 to 4294967295".
 */
int pb_text_assign(const struct pb_msgdesc *desc, void *msg, const char *assignment,
                   struct pb_arena *arena, char *why, size_t why_size);

/* The field of desc named name (len bytes), or NULL. */
const struct pb_field *pb_text_field(const struct pb_msgdesc *desc, const char *name, size_t len);

/* The name of enum value number in e, or NULL when it has none. */
const char *pb_text_enum_name(const struct pb_enumdesc *e, int32_t number);

/* The number of the enum value named name (len bytes) in e into *number.
 * Returns 0, or -1 when e has no such value. */
int pb_text_enum_value(const struct pb_enumdesc *e, const char *name, size_t len, int32_t *number);

#endif

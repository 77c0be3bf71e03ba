/*
 * pbtext.c - messages as text, from pbgen's tables: protoc's text format
 * out, FIELD=VALUE in (given complete; see pbtext.h).
 *
 * The printer follows protobuf 3.21's TextFormat::Printer, the one behind
 * `protoc --decode`: fields by number, unset proto3 fields left out,
 * CEscape for strings and bytes, SimpleDtoa and SimpleFtoa for doubles and
 * floats.
 */
#include "pbtext.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---- printing ------------------------------------------------------------- */

/* The items pointer and count of a repeated field (pbwire.h's layout). */
static const uint8_t *items_of(const struct pb_field *f, const void *msg, size_t *count)
{
    const uint8_t *base = (const uint8_t *)msg + f->offset;
    const uint8_t *items;
    memcpy(&items, base, sizeof items);
    memcpy(count, base + sizeof(void *), sizeof *count);
    return items;
}

/* Whether a singular field is left out, as pb_encode leaves it out. */
static bool is_unset(const struct pb_field *f, const uint8_t *p)
{
    if (f->type == PB_MESSAGE) {
        const void *sub;
        memcpy(&sub, p, sizeof sub);
        return sub == NULL;
    }
    if (f->type == PB_STRING || f->type == PB_BYTES)
        return ((const struct pb_bytes *)p)->len == 0;
    for (size_t i = 0; i < f->size; i++) /* -0.0 has a bit set: it is printed */
        if (p[i] != 0)
            return false;
    return true;
}

/* CEscape: C escapes, octal for the bytes that are not printable ASCII. */
static void print_quoted(FILE *out, const struct pb_bytes *b)
{
    putc('"', out);
    for (size_t i = 0; i < b->len; i++) {
        unsigned c = b->data[i];
        switch (c) {
        case '\n': fputs("\\n", out); break;
        case '\r': fputs("\\r", out); break;
        case '\t': fputs("\\t", out); break;
        case '"': fputs("\\\"", out); break;
        case '\'': fputs("\\'", out); break;
        case '\\': fputs("\\\\", out); break;
        default:
            if (c < 0x20 || c >= 0x7f)
                fprintf(out, "\\%03o", c);
            else
                putc((int)c, out);
        }
    }
    putc('"', out);
}

/* SimpleDtoa: %.15g, or %.17g when that does not read back the same. */
static void format_double(char *buf, size_t size, double v)
{
    if (isnan(v)) {
        snprintf(buf, size, "nan");
    } else if (isinf(v)) {
        snprintf(buf, size, "%s", v < 0 ? "-inf" : "inf");
    } else {
        snprintf(buf, size, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, size, "%.17g", v);
    }
}

/* SimpleFtoa: %.6g, or %.9g when that does not read back as the same float
 * (or reads back out of range: a subnormal, as protobuf's safe_strtof). */
static void format_float(char *buf, size_t size, float v)
{
    if (isnan(v)) {
        snprintf(buf, size, "nan");
    } else if (isinf(v)) {
        snprintf(buf, size, "%s", v < 0 ? "-inf" : "inf");
    } else {
        snprintf(buf, size, "%.6g", (double)v);
        errno = 0;
        float back = strtof(buf, NULL);
        if (errno != 0 || back != v)
            snprintf(buf, size, "%.9g", (double)v);
    }
}

static void print_indent(FILE *out, int indent)
{
    for (int i = 0; i < indent; i++)
        fputs("  ", out);
}

static void print_message(FILE *out, const struct pb_msgdesc *desc, const void *msg, int indent);

/* One `name: value` line (or a `name { ... }` block) for the value at p. */
static void print_value(FILE *out, const struct pb_field *f, const uint8_t *p, int indent)
{
    char num[64];
    print_indent(out, indent);
    if (f->type == PB_MESSAGE) {
        fprintf(out, "%s {\n", f->name);
        print_message(out, f->sub, p, indent + 1);
        print_indent(out, indent);
        fputs("}\n", out);
        return;
    }
    fprintf(out, "%s: ", f->name);
    switch (f->type) {
    case PB_INT32: case PB_SINT32: case PB_SFIXED32: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        fprintf(out, "%" PRId32, v);
        break;
    }
    case PB_INT64: case PB_SINT64: case PB_SFIXED64: {
        int64_t v;
        memcpy(&v, p, sizeof v);
        fprintf(out, "%" PRId64, v);
        break;
    }
    case PB_UINT32: case PB_FIXED32: {
        uint32_t v;
        memcpy(&v, p, sizeof v);
        fprintf(out, "%" PRIu32, v);
        break;
    }
    case PB_UINT64: case PB_FIXED64: {
        uint64_t v;
        memcpy(&v, p, sizeof v);
        fprintf(out, "%" PRIu64, v);
        break;
    }
    case PB_BOOL: {
        bool v;
        memcpy(&v, p, sizeof v);
        fputs(v ? "true" : "false", out);
        break;
    }
    case PB_ENUM: {
        int32_t v;
        memcpy(&v, p, sizeof v);
        const char *name = f->enumdesc ? pb_text_enum_name(f->enumdesc, v) : NULL;
        if (name != NULL)
            fputs(name, out);
        else
            fprintf(out, "%" PRId32, v);
        break;
    }
    case PB_FLOAT: {
        float v;
        memcpy(&v, p, sizeof v);
        format_float(num, sizeof num, v);
        fputs(num, out);
        break;
    }
    case PB_DOUBLE: {
        double v;
        memcpy(&v, p, sizeof v);
        format_double(num, sizeof num, v);
        fputs(num, out);
        break;
    }
    case PB_STRING: case PB_BYTES:
        print_quoted(out, (const struct pb_bytes *)p);
        break;
    default:
        fputs("?", out);
        break;
    }
    putc('\n', out);
}

static void print_message(FILE *out, const struct pb_msgdesc *desc, const void *msg, int indent)
{
    for (size_t i = 0; i < desc->nfields; i++) {
        const struct pb_field *f = &desc->fields[i];
        const uint8_t *p = (const uint8_t *)msg + f->offset;
        if (f->repeated) {
            size_t count;
            const uint8_t *items = items_of(f, msg, &count);
            for (size_t k = 0; k < count; k++)
                print_value(out, f, items + k * f->size, indent);
        } else if (!is_unset(f, p)) {
            if (f->type == PB_MESSAGE) {
                const uint8_t *sub;
                memcpy(&sub, p, sizeof sub);
                print_value(out, f, sub, indent);
            } else {
                print_value(out, f, p, indent);
            }
        }
    }
}

int pb_text_print(FILE *out, const struct pb_msgdesc *desc, const void *msg)
{
    print_message(out, desc, msg, 0);
    if (ferror(out)) {
        if (errno == 0)
            errno = EIO;
        return -1;
    }
    return 0;
}

/* ---- lookups ---------------------------------------------------------------- */

const struct pb_field *pb_text_field(const struct pb_msgdesc *desc, const char *name, size_t len)
{
    for (size_t i = 0; i < desc->nfields; i++) {
        const char *n = desc->fields[i].name;
        if (n != NULL && strlen(n) == len && memcmp(n, name, len) == 0)
            return &desc->fields[i];
    }
    return NULL;
}

const char *pb_text_enum_name(const struct pb_enumdesc *e, int32_t number)
{
    for (size_t i = 0; i < e->nvalues; i++)
        if (e->values[i].number == number)
            return e->values[i].name;
    return NULL;
}

int pb_text_enum_value(const struct pb_enumdesc *e, const char *name, size_t len, int32_t *number)
{
    for (size_t i = 0; i < e->nvalues; i++)
        if (strlen(e->values[i].name) == len && memcmp(e->values[i].name, name, len) == 0) {
            *number = e->values[i].number;
            return 0;
        }
    return -1;
}

/* ---- assignments ------------------------------------------------------------ */

static int fail(char *why, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(char *why, size_t size, const char *fmt, ...)
{
    if (size > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, size, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A decimal integer, all of s: an optional '-' (signed only), then digits. */
static int parse_signed(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *d = s[0] == '-' ? s + 1 : s;
    if (*d == '\0')
        return -1;
    for (const char *q = d; *q != '\0'; q++)
        if (*q < '0' || *q > '9')
            return -1;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_unsigned(const char *s, uint64_t max, uint64_t *out)
{
    if (*s == '\0')
        return -1;
    for (const char *q = s; *q != '\0'; q++)
        if (*q < '0' || *q > '9')
            return -1;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > max)
        return -1;
    *out = v;
    return 0;
}

/* A float or double as strtod reads it, all of s, no leading space. */
static int parse_real(const char *s, bool single, double *d, float *f)
{
    if (*s == '\0' || *s == ' ' || (*s >= '\t' && *s <= '\r'))
        return -1;
    char *end;
    if (single)
        *f = strtof(s, &end); /* out of range: inf or 0, as protoc's parser */
    else
        *d = strtod(s, &end);
    return *end == '\0' ? 0 : -1;
}

/* Slots allocated for a repeated field of count items (as pbwire does). */
static size_t capacity(size_t count)
{
    size_t cap = 1;
    while (cap < count)
        cap *= 2;
    return count == 0 ? 0 : cap;
}

/* A new last item of a repeated field: its slot, or NULL when the arena is full. */
static uint8_t *append(const struct pb_field *f, void *msg, struct pb_arena *a)
{
    uint8_t *base = (uint8_t *)msg + f->offset;
    uint8_t *items;
    size_t count;
    memcpy(&items, base, sizeof items);
    memcpy(&count, base + sizeof(void *), sizeof count);
    if (count + 1 > capacity(count)) {
        uint8_t *bigger = pb_arena_alloc(a, capacity(count + 1) * f->size);
        if (bigger == NULL)
            return NULL;
        if (count > 0)
            memcpy(bigger, items, count * f->size);
        items = bigger;
        memcpy(base, &items, sizeof items);
    }
    count++;
    memcpy(base + sizeof(void *), &count, sizeof count);
    return items + (count - 1) * f->size;
}

/* VALUE for the scalar field f into v (f->size bytes). */
static int convert(const struct pb_field *f, const char *name, const char *value,
                   uint8_t v[8], struct pb_bytes *str, struct pb_arena *a, char *why,
                   size_t why_size)
{
    int64_t i;
    uint64_t u;
    switch (f->type) {
    case PB_INT32: case PB_SINT32: case PB_SFIXED32:
        if (parse_signed(value, INT32_MIN, INT32_MAX, &i) == -1)
            return fail(why, why_size, "%s: not a number from %d to %d", name, INT32_MIN,
                        INT32_MAX);
        {
            int32_t x = (int32_t)i;
            memcpy(v, &x, sizeof x);
        }
        return 0;
    case PB_INT64: case PB_SINT64: case PB_SFIXED64:
        if (parse_signed(value, INT64_MIN, INT64_MAX, &i) == -1)
            return fail(why, why_size, "%s: not a number from %" PRId64 " to %" PRId64, name,
                        INT64_MIN, INT64_MAX);
        memcpy(v, &i, sizeof i);
        return 0;
    case PB_UINT32: case PB_FIXED32:
        if (parse_unsigned(value, UINT32_MAX, &u) == -1)
            return fail(why, why_size, "%s: not a number from 0 to %" PRIu32, name, UINT32_MAX);
        {
            uint32_t x = (uint32_t)u;
            memcpy(v, &x, sizeof x);
        }
        return 0;
    case PB_UINT64: case PB_FIXED64:
        if (parse_unsigned(value, UINT64_MAX, &u) == -1)
            return fail(why, why_size, "%s: not a number from 0 to %" PRIu64, name, UINT64_MAX);
        memcpy(v, &u, sizeof u);
        return 0;
    case PB_BOOL: {
        bool b;
        if (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)
            b = true;
        else if (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)
            b = false;
        else
            return fail(why, why_size, "%s: not true or false", name);
        memcpy(v, &b, sizeof b);
        return 0;
    }
    case PB_ENUM: {
        int32_t x;
        if (f->enumdesc != NULL && pb_text_enum_value(f->enumdesc, value, strlen(value), &x) == 0) {
            memcpy(v, &x, sizeof x);
            return 0;
        }
        if (parse_signed(value, INT32_MIN, INT32_MAX, &i) == -1)
            return fail(why, why_size, "%s: no value %.64s in %s", name, value,
                        f->enumdesc ? f->enumdesc->name : "its enum");
        x = (int32_t)i;
        memcpy(v, &x, sizeof x);
        return 0;
    }
    case PB_FLOAT: {
        float x;
        double unused;
        if (parse_real(value, true, &unused, &x) == -1)
            return fail(why, why_size, "%s: not a number", name);
        memcpy(v, &x, sizeof x);
        return 0;
    }
    case PB_DOUBLE: {
        double x;
        float unused;
        if (parse_real(value, false, &x, &unused) == -1)
            return fail(why, why_size, "%s: not a number", name);
        memcpy(v, &x, sizeof x);
        return 0;
    }
    case PB_STRING: case PB_BYTES: {
        size_t n = strlen(value);
        str->data = pb_arena_alloc(a, n + 1);
        if (str->data == NULL)
            return fail(why, why_size, "%s: out of memory", name);
        memcpy(str->data, value, n);
        str->len = n;
        return 0;
    }
    default:
        return fail(why, why_size, "%s: a message: assign its fields (%s.FIELD=VALUE)", name,
                    name);
    }
}

int pb_text_assign(const struct pb_msgdesc *desc, void *msg, const char *assignment,
                   struct pb_arena *arena, char *why, size_t why_size)
{
    const char *eq = strchr(assignment, '=');
    if (eq == NULL || eq == assignment)
        return fail(why, why_size, "expected FIELD=VALUE, not '%.64s'", assignment);
    const char *name = assignment;
    int namelen = (int)(eq - assignment > 128 ? 128 : eq - assignment);
    const char *at = assignment;
    for (;;) { /* NAME.NAME...: into singular sub-messages */
        const char *dot = memchr(at, '.', (size_t)(eq - at));
        const char *end = dot != NULL ? dot : eq;
        const struct pb_field *f = pb_text_field(desc, at, (size_t)(end - at));
        if (f == NULL)
            return fail(why, why_size, "%.*s: no such field in %s", (int)(end - at > 128 ? 128 : end - at),
                        at, desc->name);
        uint8_t *p = (uint8_t *)msg + f->offset;
        if (dot != NULL) {
            if (f->type != PB_MESSAGE || f->repeated)
                return fail(why, why_size, "%.*s: not a singular message", namelen, name);
            void *sub;
            memcpy(&sub, p, sizeof sub);
            if (sub == NULL) {
                if ((sub = pb_arena_alloc(arena, f->sub->size)) == NULL)
                    return fail(why, why_size, "%.*s: out of memory", namelen, name);
                memcpy(p, &sub, sizeof sub);
            }
            desc = f->sub;
            msg = sub;
            at = dot + 1;
            continue;
        }
        char label[160];
        snprintf(label, sizeof label, "%.*s", namelen, name);
        uint8_t v[8] = {0};
        struct pb_bytes str = {NULL, 0};
        if (convert(f, label, eq + 1, v, &str, arena, why, why_size) == -1)
            return -1;
        const void *src = (f->type == PB_STRING || f->type == PB_BYTES) ? (const void *)&str
                                                                       : (const void *)v;
        if (f->repeated) {
            uint8_t *slot = append(f, msg, arena);
            if (slot == NULL)
                return fail(why, why_size, "%s: out of memory", label);
            p = slot;
        }
        memcpy(p, src, f->size);
        return 0;
    }
}

/*
 * fuzz_dns.c - fuzz target for dns.c: a whole reply as any server (or
 * anyone who can send a datagram to the resolver's port) may send it.
 *
 * Usage: make fuzz (in the lab), or build-fuzz/fuzz_dns [libFuzzer options] [corpus...]
 *
 * Input: one DNS message. The target walks it the way minidig does (header,
 * questions, then every record, formatted as text), with round trips,
 * since blind mutation of compressed names proves little on its own:
 *   - every question and record is written again as a message of its own,
 *     with its names in full (no pointers; the text escapes undone), and
 *     must read back to the same text;
 *   - a question whose name needs no escape is encoded by dns_encode_query,
 *     which must write the very same question (in a block of its exact
 *     size; one byte less is ENOSPC), and the input, if it is a response
 *     to that query, must match it (dns_match_reply);
 *   - a name's text fits in exactly its length plus one byte, not one less.
 *
 * See also dns.h, fuzz_hostport.c, common/fuzz.h.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"
#include "fuzz.h"

#define MAX_RECORDS 64 /* records examined per message: enough to reach every path */

/* Undo dig's escapes in name text, writing the name in full as labels into
 * wire (DNS_NAME_MAX bytes); returns its length. */
static size_t name_to_wire(const char *text, uint8_t *wire)
{
    size_t n = 0, label = 0; /* label: where the current label's length byte is */
    if (strcmp(text, ".") == 0) {
        wire[0] = 0;
        return 1;
    }
    for (const char *p = text; *p != '\0'; p++) {
        if (n == label)
            n++; /* room for the length byte */
        uint8_t c = (uint8_t)*p;
        if (c == '.') {
            FUZZ_CHECK(n - label - 1 > 0, "empty label in \"%s\"", text);
            wire[label] = (uint8_t)(n - label - 1);
            label = n;
            continue;
        }
        if (c == '\\') {
            if (p[1] >= '0' && p[1] <= '9') {
                c = (uint8_t)((p[1] - '0') * 100 + (p[2] - '0') * 10 + (p[3] - '0'));
                p += 3;
            } else {
                c = (uint8_t) * ++p;
            }
        }
        FUZZ_CHECK(n < DNS_NAME_MAX, "\"%s\" longer than a name", text);
        wire[n++] = c;
    }
    FUZZ_CHECK(n == label && n < DNS_NAME_MAX, "\"%s\" does not end in a dot", text);
    wire[n++] = 0;
    return n;
}

static int needs_no_escape(const char *text)
{
    return strchr(text, '\\') == NULL;
}

static size_t put16(uint8_t *at, unsigned v)
{
    at[0] = (uint8_t)(v >> 8);
    at[1] = (uint8_t)v;
    return 2;
}

/* A header with one question, or one answer. */
static size_t put_header(uint8_t *msg, const struct dns_header *h, int qd, int an)
{
    put16(msg, h->id);
    put16(msg + 2, h->flags);
    put16(msg + 4, (unsigned)qd);
    put16(msg + 6, (unsigned)an);
    put16(msg + 8, 0);
    put16(msg + 10, 0);
    return DNS_HEADER_LEN;
}

static void check_question(const uint8_t *msg, size_t len, const struct dns_header *h,
                           const struct dns_question *q)
{
    uint8_t own[DNS_HEADER_LEN + DNS_NAME_MAX + 4];
    size_t n = put_header(own, h, 1, 0);
    n += name_to_wire(q->name, own + n);
    n += put16(own + n, q->qtype);
    n += put16(own + n, q->qclass);
    uint8_t *exact = fuzz_memdup(own, n);
    size_t at = DNS_HEADER_LEN;
    struct dns_question again;
    const char *why = NULL;
    FUZZ_CHECK(dns_read_question(exact, n, &at, &again, &why) == 0 && at == n,
               "\"%s\" in full refused: %s", q->name, why);
    FUZZ_CHECK(strcmp(again.name, q->name) == 0 && again.qtype == q->qtype &&
                   again.qclass == q->qclass,
               "\"%s\" read back as \"%s\"", q->name, again.name);

    if (!needs_no_escape(q->name) || q->qclass != DNS_CLASS_IN) {
        free(exact);
        return;
    }
    uint8_t *query = fuzz_malloc(n);
    ssize_t qlen = dns_encode_query(query, n, h->id, q->name, q->qtype);
    FUZZ_CHECK(qlen == (ssize_t)n, "dns_encode_query(\"%s\") gave %zd bytes, not %zu", q->name,
               qlen, n);
    uint8_t *short_by_one = fuzz_malloc(n - 1);
    errno = 0;
    FUZZ_CHECK(dns_encode_query(short_by_one, n - 1, h->id, q->name, q->qtype) == -1 &&
                   errno == ENOSPC,
               "dns_encode_query(\"%s\") in %zu bytes: %s", q->name, n - 1, strerror(errno));
    free(short_by_one);
    FUZZ_CHECK(memcmp(query + DNS_HEADER_LEN, exact + DNS_HEADER_LEN, n - DNS_HEADER_LEN) == 0,
               "dns_encode_query(\"%s\") wrote another question", q->name);
    free(exact);
    /* The input answers this query when it is a response, opcode QUERY,
     * with this one question; whatever it is, the answer is 0 or 1. */
    int match = dns_match_reply(query, (size_t)qlen, msg, len, &why);
    FUZZ_CHECK(match == 0 || match == 1, "dns_match_reply returned %d", match);
    if ((h->flags & DNS_FLAG_QR) && DNS_OPCODE(h->flags) == 0 && h->qdcount == 1)
        FUZZ_CHECK(match == 1, "reply to \"%s\" not matched: %s", q->name, why);
    free(query);
}

/* The name at offset, whose text is name, needs exactly its length + 1. */
static void check_name_fits(const uint8_t *msg, size_t len, size_t offset, const char *name)
{
    size_t n = strlen(name), at = offset;
    char *exact = fuzz_malloc(n + 1);
    const char *why = NULL;
    FUZZ_CHECK(dns_read_name(msg, len, &at, exact, n + 1, &why) == 0 && strcmp(exact, name) == 0,
               "\"%s\" in %zu bytes: %s", name, n + 1, why);
    at = offset;
    FUZZ_CHECK(dns_read_name(msg, len, &at, exact, n, &why) == -1 && at == offset,
               "\"%s\" in %zu bytes", name, n);
    free(exact);
}

/* The record again, alone, names written in full: the same text. */
static void check_record(const uint8_t *msg, size_t len, const struct dns_header *h,
                         const struct dns_rr *rr, const char *text)
{
    uint8_t *own =
        fuzz_malloc(DNS_HEADER_LEN + DNS_NAME_MAX + 10 + 2 + DNS_NAME_MAX + (size_t)rr->rdlength);
    size_t n = put_header(own, h, 0, 1);
    n += name_to_wire(rr->name, own + n);
    n += put16(own + n, rr->type);
    n += put16(own + n, rr->rclass);
    n += put16(own + n, rr->ttl >> 16);
    n += put16(own + n, rr->ttl & 0xffff);
    size_t rdlength_at = n, rdata_at = n + 2;
    n += 2;
    if (rr->type == DNS_TYPE_NS || rr->type == DNS_TYPE_CNAME || rr->type == DNS_TYPE_MX) {
        /* The name in the data may point anywhere before it: write it out. */
        size_t at = rr->rdata;
        if (rr->type == DNS_TYPE_MX) {
            memcpy(own + n, msg + at, 2);
            n += 2;
            at += 2;
        }
        char name[DNS_NAME_TEXT];
        const char *why = NULL;
        FUZZ_CHECK(dns_read_name(msg, len, &at, name, sizeof name, &why) == 0,
                   "formatted, yet its name is refused: %s", why);
        n += name_to_wire(name, own + n);
    } else {
        memcpy(own + n, msg + rr->rdata, rr->rdlength);
        n += rr->rdlength;
    }
    put16(own + rdlength_at, (unsigned)(n - rdata_at));

    uint8_t *exact = fuzz_memdup(own, n);
    free(own);
    size_t at = DNS_HEADER_LEN;
    struct dns_rr again;
    const char *why = NULL;
    FUZZ_CHECK(dns_parse_rr(exact, n, &at, &again, &why) == 0 && at == n,
               "\"%s\" in full refused: %s", text, why);
    static char text2[DNS_RR_TEXT];
    ssize_t len2 = dns_format_rr(exact, n, &again, text2, sizeof text2, &why);
    FUZZ_CHECK(len2 >= 0 && strcmp(text, text2) == 0, "\"%s\" read back as \"%s\" (%s)", text,
               len2 >= 0 ? text2 : "", len2 >= 0 ? "" : why);
    free(exact);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *msg = fuzz_memdup(data, size);
    struct dns_header h;
    if (dns_decode_header(msg, size, &h) == -1) {
        FUZZ_CHECK(size < DNS_HEADER_LEN, "header of %zu bytes refused", size);
        free(msg);
        return 0;
    }
    FUZZ_CHECK(dns_rcode_name(DNS_RCODE(h.flags)) != NULL || DNS_RCODE(h.flags) > 10,
               "no name for RCODE %u", DNS_RCODE(h.flags));

    size_t at = DNS_HEADER_LEN;
    const char *why = NULL;
    int records = 0;
    for (unsigned i = 0; i < h.qdcount && records < MAX_RECORDS; i++, records++) {
        struct dns_question q;
        size_t before = at;
        if (dns_read_question(msg, size, &at, &q, &why) == -1) {
            FUZZ_CHECK(at == before, "offset moved on a refusal");
            goto out;
        }
        FUZZ_CHECK(at > before && at <= size, "offset %zu after %zu in %zu", at, before, size);
        check_name_fits(msg, size, before, q.name);
        check_question(msg, size, &h, &q);
    }
    unsigned rrs = (unsigned)h.ancount + h.nscount + h.arcount;
    for (unsigned i = 0; i < rrs && records < MAX_RECORDS; i++, records++) {
        static struct dns_rr rr;
        static char text[DNS_RR_TEXT];
        size_t before = at;
        if (dns_parse_rr(msg, size, &at, &rr, &why) == -1)
            break;
        FUZZ_CHECK(at > before && at <= size && rr.rdata + rr.rdlength == at,
                   "record at %zu: rdata %zu+%u, next at %zu", before, rr.rdata, rr.rdlength, at);
        ssize_t n = dns_format_rr(msg, size, &rr, text, sizeof text, &why);
        if (n == -1)
            continue;
        FUZZ_CHECK((size_t)n == strlen(text), "%zd for a text of %zu", n, strlen(text));
        check_record(msg, size, &h, &rr, text);
    }
out:
    free(msg);
    return 0;
}

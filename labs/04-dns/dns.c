/*
 * dns.c - build DNS queries and take replies apart; see dns.h.
 *
 * Usage: linked into minidig and the Check tests.
 *
 * Wire format: RFC 1035 sections 3 and 4 (names, compression, the header,
 * questions and resource records); RFC 3596 for AAAA; RFC 3597 for the
 * generic text of types we do not know.
 *
 * Reading is defensive throughout: compare a position with the message's
 * length before reading the byte there, in the form `n > len - at` (with
 * at <= len already known), which cannot wrap around.
 *
 * See also dns.h, minidig.c, tests/check_dns.c (every case is there).
 */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

ssize_t dns_encode_query(uint8_t *buf, size_t size, uint16_t id, const char *name,
                         uint16_t qtype)
{
    /* TODO(student): turn name into labels (a length byte, then the label's bytes; a final
     * zero byte), refusing what dns.h lists with EINVAL; measure the whole query (header,
     * name, type, class) and fail with ENOSPC unless it fits; only then write it, every number
     * in network byte order. */
    (void)buf;
    (void)size;
    (void)id;
    (void)name;
    (void)qtype;
    errno = ENOSYS;
    return -1;
}

int dns_decode_header(const uint8_t *msg, size_t len, struct dns_header *h)
{
    /* TODO(student): six 16-bit numbers in network byte order, if len allows. */
    (void)msg;
    (void)len;
    (void)h;
    return -1;
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *offset, char *out, size_t out_len,
                  const char **why)
{
    /* TODO(student): walk the labels from *offset. Before each byte you read, check it is
     * below len. A length byte 11xxxxxx starts a pointer: jump there, but only strictly before
     * the labels read so far (this is what refuses loops), and remember where the name ended
     * in place. Write each label as dig does (escapes in dns.h) and a dot, "." for the root;
     * refuse names over 255 bytes and text that does not fit in out. Change *offset only on
     * success. */
    (void)msg;
    (void)len;
    (void)offset;
    (void)out;
    (void)out_len;
    if (why != NULL)
        *why = "dns_read_name is not written yet";
    return -1;
}

int dns_read_question(const uint8_t *msg, size_t len, size_t *offset, struct dns_question *q,
                      const char **why)
{
    /* TODO(student): a name (dns_read_name), then the type and the class, if 4 bytes remain. */
    (void)msg;
    (void)len;
    (void)offset;
    (void)q;
    if (why != NULL)
        *why = "dns_read_question is not written yet";
    return -1;
}

int dns_parse_rr(const uint8_t *msg, size_t len, size_t *offset, struct dns_rr *rr,
                 const char **why)
{
    /* TODO(student): the owner, then type, class, TTL and RDLENGTH (10 bytes), then check that
     * RDLENGTH bytes really follow before recording where they start. */
    (void)msg;
    (void)len;
    (void)offset;
    (void)rr;
    if (why != NULL)
        *why = "dns_parse_rr is not written yet";
    return -1;
}

ssize_t dns_format_rr(const uint8_t *msg, size_t len, const struct dns_rr *rr, char *out,
                      size_t out_len, const char **why)
{
    /* TODO(student): "NAME TTL CLASS TYPE DATA" as dns.h shows, checking the RDATA against its
     * type (exact lengths for A and AAAA, names that fill it exactly, TXT strings that stay
     * inside it) and every write against out_len. A name in the RDATA may point anywhere
     * before it: read it with dns_read_name from msg. */
    (void)msg;
    (void)len;
    (void)rr;
    (void)out;
    (void)out_len;
    if (why != NULL)
        *why = "dns_format_rr is not written yet";
    return -1;
}

int dns_match_reply(const uint8_t *query, size_t query_len, const uint8_t *reply,
                    size_t reply_len, const char **why)
{
    /* TODO(student): compare the reply's header with the query's (ID, QR, opcode), then its
     * question with the query's (dns_read_question on both; names ignoring case), allowing an
     * error reply without a question. Return 0 with *why for anything that differs. */
    (void)query;
    (void)query_len;
    (void)reply;
    (void)reply_len;
    if (why != NULL)
        *why = "dns_match_reply is not written yet";
    return 0;
}

static const struct {
    uint16_t type;
    const char *name;
} types[] = {
    {DNS_TYPE_A, "A"},   {DNS_TYPE_NS, "NS"},   {DNS_TYPE_CNAME, "CNAME"},
    {DNS_TYPE_MX, "MX"}, {DNS_TYPE_TXT, "TXT"}, {DNS_TYPE_AAAA, "AAAA"},
};

int dns_type_from_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(name, types[i].name) == 0)
            return types[i].type;
    return -1;
}

const char *dns_type_name(uint16_t type)
{
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (types[i].type == type)
            return types[i].name;
    return NULL;
}

const char *dns_rcode_name(unsigned rcode)
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP",  "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
    };
    return rcode < sizeof names / sizeof names[0] ? names[rcode] : NULL;
}

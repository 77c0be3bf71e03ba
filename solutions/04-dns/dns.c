/*
 * dns.c - build DNS queries and take replies apart; see dns.h.
 *
 * Usage: linked into minidig and the Check tests.
 *
 * Wire format: RFC 1035 sections 3 and 4 (names, compression, the header,
 * questions and resource records); RFC 3596 for AAAA; RFC 3597 for the
 * generic text of types we do not know.
 *
 * Reading is defensive throughout: a position is always compared with the
 * message's length before the byte there is read, in the form
 * `n > len - at` (with at <= len already known), which cannot wrap.
 *
 * See also dns.h, minidig.c, tests/check_dns.c.
 */
#include "dns.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static void put16(uint8_t *at, uint16_t v)
{
    at[0] = (uint8_t)(v >> 8);
    at[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *at)
{
    return (uint16_t)(at[0] << 8 | at[1]);
}

static uint32_t get32(const uint8_t *at)
{
    return (uint32_t)at[0] << 24 | (uint32_t)at[1] << 16 | (uint32_t)at[2] << 8 | at[3];
}

static int fail(const char **why, const char *reason)
{
    if (why != NULL)
        *why = reason;
    return -1;
}

/*
 * The wire form of a dotted name into out (DNS_NAME_MAX bytes): its length,
 * or 0 when no query may carry it. n stays <= DNS_NAME_MAX - 1 throughout,
 * so that the final zero byte always has its place.
 */
static size_t encode_name(const char *name, uint8_t *out)
{
    if (name == NULL || name[0] == '\0')
        return 0;
    size_t n = 0;
    const char *p = name;
    if (strcmp(name, ".") == 0)
        p = ""; /* the root: no label at all */
    while (*p != '\0') {
        const char *dot = strchr(p, '.');
        size_t label = dot != NULL ? (size_t)(dot - p) : strlen(p);
        if (label == 0 || label > DNS_LABEL_MAX || label + 1 > DNS_NAME_MAX - 1 - n)
            return 0;
        out[n++] = (uint8_t)label;
        memcpy(out + n, p, label);
        n += label;
        p += label;
        if (*p == '.')
            p++; /* a final dot just ends the name */
    }
    out[n++] = 0;
    return n;
}

ssize_t dns_encode_query(uint8_t *buf, size_t size, uint16_t id, const char *name,
                         uint16_t qtype)
{
    uint8_t wire[DNS_NAME_MAX];
    size_t name_len = encode_name(name, wire);
    if (name_len == 0) {
        errno = EINVAL;
        return -1;
    }
    size_t total = DNS_HEADER_LEN + name_len + 4;
    if (buf == NULL || size < total) {
        errno = ENOSPC;
        return -1;
    }
    put16(buf, id);
    put16(buf + 2, DNS_FLAG_RD);
    put16(buf + 4, 1); /* QDCOUNT */
    memset(buf + 6, 0, 6); /* no answers, authority or additional records */
    memcpy(buf + DNS_HEADER_LEN, wire, name_len);
    put16(buf + DNS_HEADER_LEN + name_len, qtype);
    put16(buf + DNS_HEADER_LEN + name_len + 2, DNS_CLASS_IN);
    return (ssize_t)total;
}

int dns_decode_header(const uint8_t *msg, size_t len, struct dns_header *h)
{
    if (msg == NULL || len < DNS_HEADER_LEN)
        return -1;
    h->id = get16(msg);
    h->flags = get16(msg + 2);
    h->qdcount = get16(msg + 4);
    h->ancount = get16(msg + 6);
    h->nscount = get16(msg + 8);
    h->arcount = get16(msg + 10);
    return 0;
}

/* Text being written into a caller's buffer; `ok` turns false (and stays
 * so) once something did not fit. The text is always NUL-terminated. */
struct text {
    char *out;
    size_t size, used;
    bool ok;
};

static void put_bytes(struct text *t, const char *s, size_t n)
{
    if (!t->ok || n >= t->size - t->used) {
        t->ok = false;
        return;
    }
    memcpy(t->out + t->used, s, n);
    t->used += n;
    t->out[t->used] = '\0';
}

static void put_str(struct text *t, const char *s)
{
    put_bytes(t, s, strlen(s));
}

static __attribute__((format(printf, 2, 3))) void put_fmt(struct text *t, const char *fmt, ...)
{
    char tmp[32];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        t->ok = false;
    else
        put_bytes(t, tmp, (size_t)n);
}

/* One byte of a label the way dig writes it. */
static void put_label_byte(struct text *t, uint8_t c)
{
    char s[2] = {'\\', (char)c};
    if (c != 0 && strchr("\"().;\\@$", c) != NULL)
        put_bytes(t, s, 2);
    else if (c > 0x20 && c < 0x7f)
        put_bytes(t, s + 1, 1);
    else
        put_fmt(t, "\\%03u", (unsigned)c);
}

int dns_read_name(const uint8_t *msg, size_t len, size_t *offset, char *out, size_t out_len,
                  const char **why)
{
    if (msg == NULL || out == NULL || out_len == 0)
        return fail(why, "no message or no room for the name");
    struct text t = {out, out_len, 0, true};
    out[0] = '\0';
    size_t at = *offset;
    size_t limit = at; /* every pointer must point before this */
    size_t end = 0;    /* where the name ends in place, once known */
    bool jumped = false;
    size_t wire = 1;   /* bytes on the wire: the final zero, and the labels so far */
    for (;;) {
        if (at >= len)
            return fail(why, "name runs past the end of the message");
        uint8_t b = msg[at];
        if ((b & 0xC0) == 0xC0) {
            if (len - at < 2)
                return fail(why, "name pointer cut short by the end of the message");
            size_t target = (size_t)(b & 0x3F) << 8 | msg[at + 1];
            if (target >= limit)
                return fail(why, "name pointer that does not point backwards (a loop?)");
            if (!jumped)
                end = at + 2;
            jumped = true;
            at = limit = target;
            continue;
        }
        if ((b & 0xC0) != 0)
            return fail(why, "reserved label type in a name");
        if (b == 0)
            break;
        if (b > len - at - 1)
            return fail(why, "label runs past the end of the message");
        wire += 1 + (size_t)b;
        if (wire > DNS_NAME_MAX)
            return fail(why, "name longer than 255 bytes");
        for (size_t i = 1; i <= b; i++)
            put_label_byte(&t, msg[at + i]);
        put_bytes(&t, ".", 1);
        at += 1 + (size_t)b;
    }
    if (!jumped)
        end = at + 1;
    if (t.used == 0)
        put_bytes(&t, ".", 1); /* the root */
    if (!t.ok)
        return fail(why, "name too long for the buffer");
    *offset = end;
    return 0;
}

int dns_read_question(const uint8_t *msg, size_t len, size_t *offset, struct dns_question *q,
                      const char **why)
{
    size_t at = *offset;
    if (dns_read_name(msg, len, &at, q->name, sizeof q->name, why) == -1)
        return -1;
    if (len - at < 4)
        return fail(why, "question cut short");
    q->qtype = get16(msg + at);
    q->qclass = get16(msg + at + 2);
    *offset = at + 4;
    return 0;
}

int dns_parse_rr(const uint8_t *msg, size_t len, size_t *offset, struct dns_rr *rr,
                 const char **why)
{
    size_t at = *offset;
    if (dns_read_name(msg, len, &at, rr->name, sizeof rr->name, why) == -1)
        return -1;
    if (len - at < 10)
        return fail(why, "record cut short in its fixed fields");
    rr->type = get16(msg + at);
    rr->rclass = get16(msg + at + 2);
    rr->ttl = get32(msg + at + 4);
    rr->rdlength = get16(msg + at + 8);
    at += 10;
    if (rr->rdlength > len - at)
        return fail(why, "record data runs past the end of the message");
    rr->rdata = at;
    *offset = at + rr->rdlength;
    return 0;
}

/* A name that must fill the RDATA from start to end exactly. */
static int put_rdata_name(struct text *t, const uint8_t *msg, size_t start, size_t end,
                          const char **why)
{
    char name[DNS_NAME_TEXT];
    size_t at = start;
    /* end bounds the name in place; a pointer may still go back before start. */
    if (dns_read_name(msg, end, &at, name, sizeof name, why) == -1)
        return -1;
    if (at != end)
        return fail(why, "record data longer than its name");
    put_str(t, name);
    return 0;
}

/* One or more <character-string>s, each quoted as dig does. */
static int put_txt(struct text *t, const uint8_t *msg, size_t at, size_t end, const char **why)
{
    if (at == end)
        return fail(why, "TXT record without a string");
    while (at < end) {
        size_t n = msg[at++];
        if (n > end - at)
            return fail(why, "TXT string runs past its record");
        put_bytes(t, "\"", 1);
        for (size_t i = 0; i < n; i++) {
            uint8_t c = msg[at + i];
            char s[2] = {'\\', (char)c};
            if (c == '"' || c == '\\')
                put_bytes(t, s, 2);
            else if (c >= 0x20 && c < 0x7f)
                put_bytes(t, s + 1, 1);
            else
                put_fmt(t, "\\%03u", (unsigned)c);
        }
        put_bytes(t, "\"", 1);
        at += n;
        if (at < end)
            put_bytes(t, " ", 1);
    }
    return 0;
}

static int put_address(struct text *t, int family, const uint8_t *bytes)
{
    char addr[INET6_ADDRSTRLEN];
    if (inet_ntop(family, bytes, addr, sizeof addr) == NULL)
        return -1;
    put_str(t, addr);
    return 0;
}

static int put_rdata(struct text *t, const uint8_t *msg, const struct dns_rr *rr,
                     const char **why)
{
    size_t at = rr->rdata, end = rr->rdata + rr->rdlength;
    switch (rr->type) {
    case DNS_TYPE_A:
        if (rr->rdlength != 4)
            return fail(why, "A record data is not 4 bytes");
        return put_address(t, AF_INET, msg + at) == -1 ? fail(why, "inet_ntop failed") : 0;
    case DNS_TYPE_AAAA:
        if (rr->rdlength != 16)
            return fail(why, "AAAA record data is not 16 bytes");
        return put_address(t, AF_INET6, msg + at) == -1 ? fail(why, "inet_ntop failed") : 0;
    case DNS_TYPE_NS:
    case DNS_TYPE_CNAME:
        return put_rdata_name(t, msg, at, end, why);
    case DNS_TYPE_MX:
        if (rr->rdlength < 3)
            return fail(why, "MX record too short");
        put_fmt(t, "%u ", (unsigned)get16(msg + at));
        return put_rdata_name(t, msg, at + 2, end, why);
    case DNS_TYPE_TXT:
        return put_txt(t, msg, at, end, why);
    default:
        put_fmt(t, "\\# %u", (unsigned)rr->rdlength);
        if (rr->rdlength > 0)
            put_bytes(t, " ", 1);
        for (size_t i = at; i < end; i++)
            put_fmt(t, "%02X", (unsigned)msg[i]);
        return 0;
    }
}

ssize_t dns_format_rr(const uint8_t *msg, size_t len, const struct dns_rr *rr, char *out,
                      size_t out_len, const char **why)
{
    if (msg == NULL || out == NULL || out_len == 0)
        return fail(why, "no message or no room for the text");
    if (rr->rdata > len || rr->rdlength > len - rr->rdata)
        return fail(why, "record data runs past the end of the message");
    struct text t = {out, out_len, 0, true};
    out[0] = '\0';
    put_str(&t, rr->name);
    put_fmt(&t, " %u ", (unsigned)rr->ttl);
    if (rr->rclass == DNS_CLASS_IN)
        put_str(&t, "IN ");
    else
        put_fmt(&t, "CLASS%u ", (unsigned)rr->rclass);
    const char *type = dns_type_name(rr->type);
    if (type != NULL) {
        put_str(&t, type);
        put_bytes(&t, " ", 1);
    } else {
        put_fmt(&t, "TYPE%u ", (unsigned)rr->type);
    }
    if (put_rdata(&t, msg, rr, why) == -1)
        return -1;
    if (!t.ok)
        return fail(why, "record too long for the buffer");
    return (ssize_t)t.used;
}

int dns_match_reply(const uint8_t *query, size_t query_len, const uint8_t *reply,
                    size_t reply_len, const char **why)
{
    struct dns_header qh, rh;
    if (dns_decode_header(query, query_len, &qh) == -1 || qh.qdcount != 1) {
        fail(why, "the query itself is malformed");
        return 0;
    }
    const char *reason = NULL;
    if (dns_decode_header(reply, reply_len, &rh) == -1)
        reason = "shorter than a DNS header";
    else if (rh.id != qh.id)
        reason = "another ID";
    else if (!(rh.flags & DNS_FLAG_QR))
        reason = "not a response (QR clear)";
    else if (DNS_OPCODE(rh.flags) != DNS_OPCODE(qh.flags))
        reason = "another opcode";
    else if (rh.qdcount == 0 && DNS_RCODE(rh.flags) != DNS_RCODE_NOERROR)
        return 1; /* an error reply may leave the question out */
    else if (rh.qdcount != 1)
        reason = "not exactly one question";
    if (reason != NULL) {
        fail(why, reason);
        return 0;
    }
    struct dns_question mine, theirs;
    size_t at = DNS_HEADER_LEN;
    if (dns_read_question(query, query_len, &at, &mine, why) == -1) {
        fail(why, "the query itself is malformed");
        return 0;
    }
    at = DNS_HEADER_LEN;
    if (dns_read_question(reply, reply_len, &at, &theirs, why) == -1) {
        fail(why, "its question is malformed");
        return 0;
    }
    /* Letters are never escaped in the text, so ignoring case there is
     * ignoring ASCII case on the wire. */
    if (strcasecmp(mine.name, theirs.name) != 0 || mine.qtype != theirs.qtype ||
        mine.qclass != theirs.qclass) {
        fail(why, "another question");
        return 0;
    }
    return 1;
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

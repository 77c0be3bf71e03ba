/*
 * dns.h - DNS messages (RFC 1035): building a query, and taking a reply
 * apart into text that reads exactly like dig's.
 *
 * Usage:
 *     uint8_t q[DNS_UDP_MAX];
 *     ssize_t qlen = dns_encode_query(q, sizeof q, id, "www.example.test", DNS_TYPE_A);
 *     ...                                          // send q, receive reply
 *     if (dns_match_reply(q, qlen, reply, rlen, &why) == 1) {
 *         struct dns_header h;
 *         dns_decode_header(reply, rlen, &h);      // h.ancount answers follow
 *         size_t at = DNS_HEADER_LEN;
 *         struct dns_question qn;
 *         dns_read_question(reply, rlen, &at, &qn, &why);
 *         struct dns_rr rr;
 *         dns_parse_rr(reply, rlen, &at, &rr, &why);
 *         dns_format_rr(reply, rlen, &rr, line, sizeof line, &why);
 *         // "www.example.test. 60 IN A 192.0.2.10"
 *     }
 *
 * Wire format (numbers are big-endian; RFC 1035 section 4):
 *     header   | ID | flags | QDCOUNT | ANCOUNT | NSCOUNT | ARCOUNT |  6 x 2 bytes
 *              flags: QR(1) OPCODE(4) AA(1) TC(1) RD(1) RA(1) Z(3) RCODE(4)
 *     question | NAME | TYPE (2) | CLASS (2) |
 *     record   | NAME | TYPE (2) | CLASS (2) | TTL (4) | RDLENGTH (2) | RDATA |
 *     NAME     a sequence of labels, each a length byte (1 to 63) and that
 *              many bytes, ended by a zero byte (the root); or labels ended
 *              by a pointer: two bytes 11pppppp pppppppp giving the offset,
 *              from the message's first byte, where the rest of the name is.
 *
 * Trust nothing in a reply: every count, length and pointer is checked
 * against the bytes really there, and no function reads msg[len] or past.
 * Pointers must go strictly backwards: each one points before the first
 * byte of the labels read so far (the name's start, then the previous
 * pointer's target), which refuses every loop and every forward pointer,
 * as BIND does. A name decodes to at most DNS_NAME_MAX bytes on the wire.
 *
 * Names become text the way dig writes them: each label followed by a dot
 * ("www.example.test.", the root is "."), letters in the case received,
 * the characters " ( ) . ; \ @ $ inside a label escaped with a backslash
 * ("x\.y"), and bytes outside '!'..'~' as \DDD in decimal ("A\032b" for
 * "A b"). TXT strings are quoted, with " and \ escaped by a backslash and
 * bytes outside ' '..'~' as \DDD: "say \"hi\"" "tab\009x".
 *
 * Library code: nothing here allocates, prints or exits. Failures return
 * -1 and, where a `why` argument exists, set *why (unless why is NULL) to a
 * short static string saying what is wrong ("pointer loop in a name").
 *
 * See also dns.c, minidig.c, tests/check_dns.c.
 */
#ifndef NETLAB_DNS_H
#define NETLAB_DNS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define DNS_HEADER_LEN 12
#define DNS_UDP_MAX 512     /* bytes of a UDP message without EDNS (RFC 1035 2.3.4) */
#define DNS_MSG_MAX 65535   /* bytes of any message: TCP's length prefix is 16 bits */
#define DNS_NAME_MAX 255    /* bytes of a name on the wire, its final zero included */
#define DNS_LABEL_MAX 63    /* bytes of one label */
/* Room for any name as text, with its NUL: at most 1013 characters when
 * every byte needs a \DDD escape. */
#define DNS_NAME_TEXT 1024
/* Room for any record as text, with its NUL: rdata is at most 4 characters
 * a byte (\DDD), a name in it at most DNS_NAME_TEXT. */
#define DNS_RR_TEXT (4 * DNS_MSG_MAX + 2 * DNS_NAME_TEXT + 64)

#define DNS_CLASS_IN 1

/* The types minidig asks for and formats; any other is shown generically. */
enum dns_type {
    DNS_TYPE_A = 1,
    DNS_TYPE_NS = 2,
    DNS_TYPE_CNAME = 5,
    DNS_TYPE_MX = 15,
    DNS_TYPE_TXT = 16,
    DNS_TYPE_AAAA = 28,
};

enum dns_rcode {
    DNS_RCODE_NOERROR = 0,
    DNS_RCODE_FORMERR = 1,
    DNS_RCODE_SERVFAIL = 2,
    DNS_RCODE_NXDOMAIN = 3, /* the name does not exist */
    DNS_RCODE_NOTIMP = 4,
    DNS_RCODE_REFUSED = 5,
};

/* The flag bits of the header's second field. */
#define DNS_FLAG_QR 0x8000 /* a response */
#define DNS_FLAG_AA 0x0400 /* authoritative answer */
#define DNS_FLAG_TC 0x0200 /* truncated: ask again over TCP */
#define DNS_FLAG_RD 0x0100 /* recursion desired */
#define DNS_FLAG_RA 0x0080 /* recursion available */
#define DNS_OPCODE(flags) (((unsigned)(flags) >> 11) & 0xF)
#define DNS_RCODE(flags) ((unsigned)(flags) & 0xF)

struct dns_header {
    uint16_t id;
    uint16_t flags; /* as on the wire: test with DNS_FLAG_*, DNS_RCODE() */
    uint16_t qdcount, ancount, nscount, arcount;
};

struct dns_question {
    char name[DNS_NAME_TEXT]; /* as text: "www.example.test." */
    uint16_t qtype, qclass;
};

/* One resource record. Its RDATA stays in the message (rdata is its
 * offset), because names in it may point anywhere before it. */
struct dns_rr {
    char name[DNS_NAME_TEXT]; /* the owner, as text */
    uint16_t type, rclass;
    uint32_t ttl;
    uint16_t rdlength;
    size_t rdata; /* offset of the RDATA in the message */
};

/*
 * Write a query into buf (of size bytes): a header with the given ID, only
 * RD set and QDCOUNT 1, then the question NAME, qtype, class IN; no EDNS.
 * name is dotted text, a final dot optional ("www.example.test" and
 * "www.example.test." are the same; "." alone is the root); it is sent as
 * written, case and all, with no escapes: every byte but '.' belongs to a
 * label. Returns the query's length, or -1 with errno = EINVAL for a name
 * no query can carry (NULL, empty, an empty label as in "a..b" or ".a", a
 * label over 63 bytes, more than 255 bytes on the wire), ENOSPC when it
 * does not fit in size (nothing is then written past size).
 */
ssize_t dns_encode_query(uint8_t *buf, size_t size, uint16_t id, const char *name,
                         uint16_t qtype);

/* The header at msg: 0, or -1 when len is shorter than a header. */
int dns_decode_header(const uint8_t *msg, size_t len, struct dns_header *h);

/*
 * Read the name at *offset in the len bytes of msg, following pointers,
 * into out (out_len bytes, NUL-terminated text, see above). On success
 * returns 0 and moves *offset past the name as it sits there: after its
 * zero byte, or after its first pointer. Returns -1 (with *offset
 * unchanged) when the name runs past len, uses the reserved label types
 * 01 or 10, has a pointer that does not go strictly backwards (loops
 * included), is longer than DNS_NAME_MAX bytes, or does not fit in out.
 */
int dns_read_name(const uint8_t *msg, size_t len, size_t *offset, char *out, size_t out_len,
                  const char **why);

/* The question at *offset: its name, type and class; *offset moves past
 * it. 0, or -1 when it is cut short or its name is malformed. */
int dns_read_question(const uint8_t *msg, size_t len, size_t *offset, struct dns_question *q,
                      const char **why);

/*
 * The resource record at *offset: owner, type, class, TTL and where its
 * RDATA is; *offset moves past it. Returns 0, or -1 when the owner is
 * malformed or the fixed fields or the RDATA run past len. The RDATA is
 * not judged here: dns_format_rr does that.
 */
int dns_parse_rr(const uint8_t *msg, size_t len, size_t *offset, struct dns_rr *rr,
                 const char **why);

/*
 * rr as one line of text, without a newline, the fields separated by one
 * space: "NAME TTL CLASS TYPE DATA". CLASS is "IN" (or CLASSn); TTL is
 * unsigned decimal, as received. DATA for
 *     A      192.0.2.10                 (RDATA of exactly 4 bytes)
 *     AAAA   2001:db8::10               (exactly 16 bytes, inet_ntop's form)
 *     CNAME  www.example.test.          (NS too: one name filling the RDATA)
 *     MX     10 mail.example.test.      (preference, then a name)
 *     TXT    "v=spf1 -all" "two"        (one or more strings filling the RDATA)
 * and for any other type, RFC 3597's generic form as dig prints it:
 *     TYPE65280 \# 4 0A000001           (\# 0 when the RDATA is empty)
 * Returns the text's length, or -1 when the RDATA is malformed for its type
 * or the text does not fit in out (DNS_RR_TEXT bytes always suffice).
 */
ssize_t dns_format_rr(const uint8_t *msg, size_t len, const struct dns_rr *rr, char *out,
                      size_t out_len, const char **why);

/*
 * Whether reply answers query (both whole messages): 1 when it is at least
 * a header long, has the query's ID and opcode, QR set, and carries the
 * query's question (one question, same type and class, the name the same
 * ignoring ASCII case: servers may echo it in another case); an error reply
 * (RCODE not NOERROR) without a question also answers. Otherwise 0, with
 * *why saying what differs: such a datagram is a stray or a forgery, to be
 * ignored. The answer sections are not looked at.
 */
int dns_match_reply(const uint8_t *query, size_t query_len, const uint8_t *reply,
                    size_t reply_len, const char **why);

/* DNS_TYPE_A for "A" or "a", and so on for the six types above; -1 for
 * any other text. */
int dns_type_from_name(const char *name);

/* "A", "NS", "CNAME", "MX", "TXT", "AAAA"; NULL for any other type. */
const char *dns_type_name(uint16_t type);

/* "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
 * "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE" for 0 to 10;
 * NULL past them. */
const char *dns_rcode_name(unsigned rcode);

#endif

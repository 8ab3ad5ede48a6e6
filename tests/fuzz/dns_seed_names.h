/* dns_seed_names.h - the names of the test zone whose answers seed
 * fuzz_dns_answer: the fuzz target picks one by its first octet, and
 * tests/unit/test_dns.c writes knot's answers for each into the corpus */
#ifndef DNS_SEED_NAMES_H
#define DNS_SEED_NAMES_H

static const char *const dns_seed_names[] = {
    "example.test", "s1._domainkey.example.test", "chain1.example.test",
    "out.example.test", "loop1.example.test", "long1.example.test",
    "many.example.test", "dangling.example.test", "x.sub.example.test",
    "empty.example.test", "mx1.example.test", "nope.example.test",
    "xloop.example.test", "s2.provider.test", "long13.example.test",
    "reload.example.test",
};

#endif

#!/usr/bin/perl
# verify_maildkim.pl [--expect-fail] DNSFILE MSG...: verify every DKIM
# signature of each message with Mail::DKIM, keys from DNSFILE (no DNS).
# Debian 12's Mail::DKIM (1.20230212) has no ed25519-sha256: such signatures
# are reported as "skipped" and not counted; the others must all pass.
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

my $expect_fail = 0;
if (@ARGV && $ARGV[0] eq '--expect-fail') { $expect_fail = 1; shift @ARGV; }
my $dnsfile = shift @ARGV;
my %records;
open(my $fh, '<', $dnsfile) or die "$dnsfile: $!";
while (<$fh>) {
    chomp;
    my ($name, $txt) = split /\t/, $_, 2;
    $records{lc $name} = $txt;
}
close $fh;

{
    no warnings 'redefine';
    *Mail::DKIM::DNS::query = sub {
        my ($domain, $type) = @_;
        my $txt = $records{lc $domain};
        return () unless defined $txt && $type eq 'TXT';
        my $rr = Net::DNS::RR->new(name => $domain, type => 'TXT', txtdata => $txt);
        return ($rr);
    };
}

my $bad = 0;
for my $path (@ARGV) {
    open(my $m, '<:raw', $path) or die "$path: $!";
    my $v = Mail::DKIM::Verifier->new();
    local $/;
    my $msg = <$m>;
    close $m;
    $v->PRINT($msg);
    $v->CLOSE();
    my @sigs = $v->signatures;
    my @res = map { $_->result . ($_->result_detail ? "(" . $_->result_detail . ")" : "") } @sigs;
    my @counted = grep { !(($_->result_detail || '') =~ /unsupported algorithm ed25519/) } @sigs;
    my $skipped = @sigs - @counted;
    push @res, "skipped $skipped ed25519" if $skipped;
    my $ok = @counted > 0 && !grep { $_->result ne 'pass' } @counted;
    printf "%s maildkim %s [%s]\n", ($ok != $expect_fail ? "ok" : "FAIL"), $path, join(", ", @res);
    $bad++ if $ok == $expect_fail;
}
exit($bad ? 1 : 0);

#!/usr/bin/perl
# maildkim_bench.pl KEYFILE SECONDS: Mail::DKIM signing in process (key
# loaded once), relaxed/relaxed rsa-sha256, the same messages as bench_dkim;
# prints "SIZE rsa2048 MSGS_PER_S" per message size.
use strict;
use warnings;
use Mail::DKIM::Signer;
use Mail::DKIM::PrivateKey;
use Time::HiRes qw(time);

my ($keyfile, $secs) = @ARGV;
my $key = Mail::DKIM::PrivateKey->load(File => $keyfile);
my $hdr = "Received: from client.example (client.example [192.0.2.1]) by relay.example\r\n" . "\twith ESMTPSA id 1a2b3c; Tue, 24 Nov 2026 10:00:00 +0000\r\n" . "From: \"Acme Newsletter\" <news\@acme.example>\r\n" . "To: Customer <someone\@customer.example>\r\n" . "Subject: Your November statement is ready\r\n" . "Date: Tue, 24 Nov 2026 10:00:00 +0000\r\n" . "Message-ID: <20261124100000.1234\@acme.example>\r\n" . "MIME-Version: 1.0\r\n" . "Content-Type: text/plain; charset=utf-8\r\n" . "List-Unsubscribe: <https://acme.example/u/1234>\r\n" . "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n\r\n";
my $line = "Dear customer, your statement for November is ready. You can see it online.\r\n"
         . "It lists every payment we received this month.  Log in to download it.\r\n"
         . "Thank you for your business. \r\n\r\n";
for my $size (2048, 51200, 5242880) {
    my $msg = $hdr;
    $msg .= $line while length($msg) < $size;
    my ($n, $t0) = (0, time);
    while (time - $t0 < $secs) {
        my $s = Mail::DKIM::Signer->new(Algorithm => 'rsa-sha256', Method => 'relaxed',
                                         Domain => 'acme.example', Selector => 's1', Key => $key);
        $s->PRINT($msg);
        $s->CLOSE;
        my $sig = $s->signature->as_string;
        $n++;
    }
    printf "%d rsa2048 %.1f\n", $size, $n / (time - $t0);
}

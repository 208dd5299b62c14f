#!/usr/bin/env perl
# Writes the Swift string literals of the given test files into DIR, one file per literal: the seed corpus of
# a fuzz target, taken from the transcripts and documents the unit tests already hold.
#   seeds.pl [--crlf] [--only-crlf] DIR FILE...
#   --crlf       line ends become CRLF (IMAP streams are written with "\n" in the tests; servers send CRLF)
#   --only-crlf  single-line literals are kept only when they contain \r\n (IMAP lines, not names)
use strict;
use warnings;

my ($crlf, $only_crlf) = (0, 0);
while (@ARGV && $ARGV[0] =~ /^--/) {
    my $flag = shift @ARGV;
    $crlf = 1 if $flag eq '--crlf';
    $only_crlf = 1 if $flag eq '--only-crlf';
}
my $dir = shift @ARGV or die "usage: seeds.pl [--crlf] [--only-crlf] DIR FILE...\n";
-d $dir or die "seeds.pl: $dir is not a directory\n";

sub unescape {
    my ($s) = @_;
    $s =~ s/\\(u\{([0-9a-fA-F]+)\}|.)/
        defined $2 ? chr(hex $2) : ({ n => "\n", r => "\r", t => "\t", 0 => "\0", '\\' => '\\', '"' => '"', "'" => "'" }->{$1} \/\/ "\\$1")/ge;
    return $s;
}

my ($count, $tag) = (0, '');
sub emit {
    my ($text) = @_;
    return if $text eq '' || $text =~ /\\\(/;    # interpolations are not literal input
    $text =~ s/\r?\n/\r\n/g if $crlf;
    utf8::encode($text) if utf8::is_utf8($text);
    my $path = sprintf('%s/seed-%s-%04d', $dir, $tag, $count);
    open(my $out, '>:raw', $path) or die "$path: $!";
    print $out $text;
    close $out;
    $count++;
}

for my $file (@ARGV) {
    ($tag = $file) =~ s{.*/|\.swift$}{}g;
    open(my $in, '<:encoding(UTF-8)', $file) or die "$file: $!";
    local $/;
    my $source = <$in>;
    close $in;
    # Multi-line literals: the closing delimiter's indentation is stripped from every line (Swift's rule).
    while ($source =~ /"""[ \t]*\n(.*?)\n([ \t]*)"""/gs) {
        my ($body, $indent) = ($1, $2);
        $body =~ s/^\Q$indent\E//mg;
        $body =~ s/\\\n//g;                           # a backslash at a line end joins lines
        emit(unescape($body . "\n"));
    }
    (my $single = $source) =~ s/""".*?"""//gs;
    while ($single =~ /"((?:[^"\\\n]|\\.)*)"/g) {
        my $literal = $1;
        next if $only_crlf && $literal !~ /\\r\\n/;
        next if length($literal) < 4;
        emit(unescape($literal));
    }
}
print STDERR "seeds.pl: $count seeds into $dir\n";

<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// The patrons' messages: an SMS row in INLISLite's Gammu outbox as
// INLISLite writes them, e-mail through a real SMTP listener (the SLiMS
// tests' sink) that is down at first, the WhatsApp hook against a PHP
// web server, one message per patron for the holds loaded together.

namespace Lokerbuku\Inlislite\Tests;

use Lokerbuku\Inlislite\NotifyMail;
use Lokerbuku\Inlislite\NotifyQueue;
use Lokerbuku\Inlislite\NotifySms;
use Lokerbuku\Inlislite\NotifyText;
use Lokerbuku\Inlislite\NotifyWhatsapp;
use Lokerbuku\Sync\Member;
use Lokerbuku\Sync\Notice;

final class NotifyQueueTest extends InlTestCase
{
    private int $now = 1_800_000_000;
    private array $procs = [];

    protected function setUp(): void
    {
        parent::setUp();
        NotifyQueue::createTables($this->db);
    }

    protected function tearDown(): void
    {
        foreach ($this->procs as $p) {
            proc_terminate($p);
            proc_close($p);
        }
    }

    private function queue(array $channels, int $gatherS = 30): NotifyQueue
    {
        // The test's "seal" is reversing the digits; the bridge uses Credentials::seal.
        return new NotifyQueue($this->db, $channels, static fn(string $c): string => 'sealed:' . strrev($c),
            static fn(string $s): ?string => str_starts_with($s, 'sealed:') ? strrev(substr($s, 7)) : null,
            $gatherS, 'id', 'Asia/Jakarta', fn(): int => $this->now);
    }

    /** A loaded hold as the shared code hands it over, for member row $m. */
    private function notice(array $m, string $hold, int $locker, array $items, ?string $code, int $expiresIn = 86400): Notice
    {
        $its = [];
        foreach ($items as $barcode => $title) {
            $its[] = ['barcode' => $barcode, 'title' => $title];
        }
        return new Notice($hold, $m['MemberNo'], new Member($m['MemberNo'], $m['Fullname'], $m['Email'],
            $m['NoHp'] ?? $m['Phone']), $its, 'k1', 'Lobi Utama', $locker, $code,
            gmdate('Y-m-d H:i:s', $this->now + $expiresIn));
    }

    private static function freePort(): int
    {
        $s = stream_socket_server('tcp://127.0.0.1:0');
        $port = (int) substr(strrchr(stream_socket_get_name($s, false), ':'), 1);
        fclose($s);
        return $port;
    }

    private function tmp(string $name): string
    {
        $d = getenv('LOKERBUKU_TEST_TMP') . '/' . $name . '-' . bin2hex(random_bytes(3));
        mkdir($d);
        return $d;
    }

    /** Starts the SMTP sink; returns [port, folder of messages]. */
    private function smtpSink(): array
    {
        $dir = $this->tmp('mail');
        $portFile = "$dir/port";
        $this->procs[] = proc_open(['python3', getenv('LOKERBUKU_SMTP_SINK'), $dir, $portFile, 'lib', 'secret'],
            [['file', '/dev/null', 'r'], ['file', "$dir.log", 'w'], ['file', "$dir.log", 'a']], $pipes);
        for ($i = 0; $i < 300 && !is_file($portFile); $i++) {
            usleep(50000);
        }
        $this->assertFileExists($portFile, 'the SMTP sink did not start: ' . @file_get_contents("$dir.log"));
        return [(int) trim(file_get_contents($portFile)), $dir];
    }

    private function rows(): array
    {
        return $this->db->query('SELECT * FROM lokerbuku_notify ORDER BY id')->fetchAll(\PDO::FETCH_ASSOC);
    }

    public function test_sms_is_a_gammu_outbox_row_as_inlislite_writes_it(): void
    {
        $m = $this->member('M-001', 'Siti Aminah', '0812-3456-7890', null);
        $q = $this->queue([new NotifySms($this->db)]);
        $this->assertNull($q->take($this->notice($m, 'INL-I1', 3, ['B001' => 'Laskar Pelangi'], '482913')));
        $this->assertSame(0, $q->deliverDue(), 'gathering the member\'s other holds first');
        $this->assertSame('sealed:319284', $this->db->query('SELECT code_sealed FROM lokerbuku_notify_hold')
            ->fetchColumn(), 'the code waits sealed, never in clear');
        $this->now += 30;
        $this->assertSame(1, $q->deliverDue());
        $out = $this->db->query('SELECT DestinationNumber, TextDecoded, Coding, MultiPart, CreatorID,'
            . " InsertIntoDB <> '0000-00-00 00:00:00' AS stamped FROM outbox")->fetchAll(\PDO::FETCH_ASSOC);
        $this->assertCount(1, $out);
        $this->assertSame('081234567890', $out[0]['DestinationNumber']);
        $this->assertSame('Buku Anda siap di loker Lobi Utama: Loker 3 kode ambil 482913, s/d 16-01 15:00.',
            $out[0]['TextDecoded']);
        // Gammu's own defaults and its outbox_timestamp trigger, as for INLISLite's rows.
        $this->assertSame('Default_No_Compression', $out[0]['Coding']);
        $this->assertSame('false', $out[0]['MultiPart']);
        $this->assertSame('1', (string) $out[0]['stamped']);
        $r = $this->rows()[0];
        $this->assertSame('sent', $r['state']);
        $this->assertNull($this->db->query('SELECT code_sealed FROM lokerbuku_notify_hold')->fetchColumn(),
            'the sealed code is forgotten once sent');
        // Sent is sent: nothing goes twice, taking the hold again changes nothing.
        $this->assertNull($q->take($this->notice($m, 'INL-I1', 3, ['B001' => 'Laskar Pelangi'], '482913')));
        $this->now += 3600;
        $this->assertSame(0, $q->deliverDue());
        $this->assertSame(1, (int) $this->db->query('SELECT COUNT(*) FROM outbox')->fetchColumn());
    }

    public function test_sms_text_is_one_plain_sms(): void
    {
        $this->assertSame(160, strlen(NotifySms::gsm(str_repeat('é', 300))));
        $this->assertSame('Buku "Cafe"', NotifySms::gsm("Buku \u{201C}Caf\u{00E9}\u{201D}"));
        $this->assertNull(NotifySms::number('12-34'));
        $this->assertSame('+6281234567890', NotifySms::number('+62 812 3456 7890'));
    }

    public function test_texts_in_english_and_an_sms_for_many_holds(): void
    {
        $hold = fn(int $locker, string $code) => ['kiosk' => 'Lobby', 'locker' => $locker, 'code' => $code,
            'items' => [['barcode' => "B$locker", 'title' => str_repeat('Judul panjang ', 10)]],
            'expires_at' => '2027-01-16 08:00:00'];
        [$subject, $text, $short] = NotifyText::render('Ann Lee', [$hold(2, '123456')], 'en');
        $this->assertSame('Your books are ready in a locker', $subject);
        $this->assertStringStartsWith("Hello Ann Lee,\n\nthe books you asked for wait for you at the book locker Lobby:\n"
            . 'Locker 2, pickup code 123456:', $text);
        $this->assertStringEndsWith("They wait for you until 16-01-2027 15:00.\n", $text);
        $this->assertSame('Your books are ready at locker Lobby: Locker 2 pickup code 123456, until 16-01 15:00.', $short);
        // Eight holds: the SMS is cut to one SMS, the first codes kept whole.
        $many = [];
        for ($i = 1; $i <= 8; $i++) {
            $many[] = $hold($i, str_repeat((string) $i, 6));
        }
        $sms = NotifySms::gsm(NotifyText::render('Ann', $many)[2]);
        $this->assertSame(160, strlen($sms));
        $this->assertStringContainsString('Loker 1 kode ambil 111111; Loker 2 kode ambil 222222', $sms);
    }

    public function test_smtp_down_is_retried_and_not_lost(): void
    {
        $m = $this->member('M-002', 'Budi Santoso', null, 'budi@example.org');
        $port = self::freePort(); // nothing listens there yet
        $smtp = ['host' => '127.0.0.1', 'port' => $port, 'security' => 'none', 'user' => 'lib',
            'password' => 'secret', 'from' => 'perpus@example.org', 'from_name' => 'Perpustakaan Daerah'];
        $q = $this->queue([new NotifyMail($smtp)], 0);
        $this->assertNull($q->take($this->notice($m, 'INL-I2', 5, ['B002' => 'Bumi Manusia', 'B003' => null],
            '777123')));
        $this->assertSame(0, $q->deliverDue());
        $r = $this->rows()[0];
        $this->assertSame('queued', $r['state']);
        $this->assertSame('1', (string) $r['tries']);
        $this->assertStringContainsString('cannot reach', $r['last_error']);
        $this->assertSame('sealed:321777', $this->db->query('SELECT code_sealed FROM lokerbuku_notify_hold')
            ->fetchColumn(), 'the code is kept (sealed) until the message goes');

        // The server comes back (on the port the library configured).
        [$sinkPort, $dir] = $this->smtpSink();
        $smtp['port'] = $sinkPort;
        $q = $this->queue([new NotifyMail($smtp)], 0);
        $this->now += 30;
        $this->assertSame(0, $q->deliverDue(), 'not tried again before its time');
        $this->now += 31;
        $this->assertSame(1, $q->deliverDue());
        $mails = glob("$dir/*.json");
        $this->assertCount(1, $mails);
        $mail = json_decode(file_get_contents($mails[0]), true);
        $this->assertSame(['budi@example.org'], $mail['to']);
        [$head, $body] = explode("\r\n\r\n", $mail['data'], 2);
        $this->assertStringContainsString('Subject: =?UTF-8?B?' . base64_encode('Buku Anda siap diambil di loker')
            . '?=', $head);
        $this->assertSame("Halo Budi Santoso,\n\nbuku yang Anda pesan sudah menunggu di loker buku Lobi Utama:\n"
            . "Loker 5, kode ambil 777123:\n  - Bumi Manusia (B002)\n  - B003\n\n"
            . "Tempelkan kartu anggota Anda di loker, atau ketik kode ambilnya. Buku menunggu sampai 16-01-2027 15:00.\n",
            base64_decode($body));
        $r = $this->rows()[0];
        $this->assertSame('sent', $r['state']);
        $this->assertSame('2', (string) $r['tries']);
        $this->assertNull($this->db->query('SELECT code_sealed FROM lokerbuku_notify_hold')->fetchColumn());
    }

    public function test_retries_back_off_up_to_six_hours_and_never_give_up(): void
    {
        $m = $this->member('M-003', 'Ani', null, 'ani@example.org');
        $q = $this->queue([new NotifyMail(['host' => '127.0.0.1', 'port' => self::freePort(), 'security' => 'none',
            'from' => 'perpus@example.org'])], 0);
        $q->take($this->notice($m, 'INL-I4', 1, ['B004' => 'X'], null, 30 * 86400));
        $waits = [];
        for ($i = 0; $i < 12; $i++) {
            $this->assertSame(0, $q->deliverDue());
            $r = $this->rows()[0];
            $waits[] = strtotime($r['next_at'] . ' UTC') - $this->now;
            $this->now = strtotime($r['next_at'] . ' UTC');
        }
        $this->assertSame([60, 120, 240, 480, 960, 1920, 3840, 7680, 15360, 21600, 21600, 21600], $waits);
        $this->assertSame('queued', $this->rows()[0]['state']);
        $this->assertSame('12', (string) $this->rows()[0]['tries']);
    }

    public function test_one_message_per_patron_for_the_holds_loaded_together(): void
    {
        $m = $this->member('M-004', 'Dewi', '081111222333', null);
        $other = $this->member('M-014', 'Eko', '081111222444', null);
        $q = $this->queue([new NotifySms($this->db)]);
        // One upload: two holds of Dewi (two lockers), one of Eko.
        $this->assertNull($q->take($this->notice($m, 'INL-I5', 2, ['B005' => 'A'], '111111')));
        $this->now += 5;
        $this->assertNull($q->take($this->notice($other, 'INL-I6', 4, ['B006' => 'B'], '222222')));
        $this->assertNull($q->take($this->notice($m, 'INL-I7', 7, ['B007' => 'C'], '333333')));
        $this->assertCount(2, $this->rows(), 'one message per patron, not per hold');
        $this->now += 30;
        $this->assertSame(2, $q->deliverDue());
        $sms = $this->db->query('SELECT DestinationNumber, TextDecoded FROM outbox ORDER BY ID')
            ->fetchAll(\PDO::FETCH_KEY_PAIR);
        $this->assertSame(['081111222333', '081111222444'], array_keys($sms));
        $this->assertSame('Buku Anda siap di loker Lobi Utama: Loker 2 kode ambil 111111; Loker 7 kode ambil 333333,'
            . ' s/d 16-01 15:00.', $sms['081111222333']);
        // A hold loaded later (another upload) gets a message of its own.
        $this->assertNull($q->take($this->notice($m, 'INL-I8', 9, ['B008' => 'D'], '444444')));
        $this->now += 30;
        $this->assertSame(1, $q->deliverDue());
        $this->assertSame(3, (int) $this->db->query('SELECT COUNT(*) FROM outbox')->fetchColumn());
        $this->assertSame(['sms'], array_column($q->ofHold('INL-I7'), 'channel'));
    }

    public function test_a_patron_without_an_address_is_kept_for_staff(): void
    {
        $m = $this->member('M-005', 'Tanpa Kontak', null, null);
        $q = $this->queue([new NotifySms($this->db), new NotifyMail(['host' => '127.0.0.1', 'security' => 'none',
            'from' => 'perpus@example.org'])]);
        $why = $q->take($this->notice($m, 'INL-I9', 1, ['B009' => 'E'], '555555'));
        $this->assertSame('no mobile number for SMS or e-mail for this member', $why);
        $this->assertSame($why, $q->take($this->notice($m, 'INL-I9', 1, ['B009' => 'E'], '555555')),
            'asked again, the same answer, no second row');
        $r = $this->rows();
        $this->assertCount(1, $r);
        $this->assertSame('unreachable', $r[0]['state']);
        $this->assertSame(['unreachable'], array_column($q->unsent(), 'state'));
        $this->assertNull($this->db->query('SELECT code_sealed FROM lokerbuku_notify_hold')->fetchColumn(),
            'no code kept for a message that never goes');
    }

    public function test_a_message_expires_with_its_holds(): void
    {
        $m = $this->member('M-006', 'Rina', null, 'rina@example.org');
        $q = $this->queue([new NotifyMail(['host' => '127.0.0.1', 'port' => self::freePort(), 'security' => 'none',
            'from' => 'perpus@example.org'])], 0);
        $q->take($this->notice($m, 'INL-I10', 1, ['B010' => 'F'], '123456', 600));
        $q->deliverDue();
        $this->now += 601;
        $this->assertSame(0, $q->deliverDue());
        $this->assertSame('expired', $this->rows()[0]['state']);
        $this->assertNull($this->db->query('SELECT code_sealed FROM lokerbuku_notify_hold')->fetchColumn());
    }

    public function test_whatsapp_hook_posts_json_and_retries_a_gateway_error(): void
    {
        $dir = $this->tmp('wa');
        file_put_contents("$dir/status", '503');
        file_put_contents("$dir/router.php", '<?php
$d = ' . var_export($dir, true) . ';
file_put_contents("$d/req-" . hrtime(true), json_encode(["auth" => $_SERVER["HTTP_AUTHORIZATION"] ?? "",
    "type" => $_SERVER["CONTENT_TYPE"] ?? "", "body" => file_get_contents("php://input")]));
http_response_code((int) file_get_contents("$d/status"));
echo "{}";
');
        $port = self::freePort();
        $this->procs[] = proc_open(['php', '-S', "127.0.0.1:$port", "$dir/router.php"],
            [['file', '/dev/null', 'r'], ['file', "$dir.log", 'w'], ['file', "$dir.log", 'a']], $pipes);
        for ($i = 0; $i < 300 && !@fsockopen('127.0.0.1', $port); $i++) {
            usleep(50000);
        }
        $m = $this->member('M-007', 'Joko', '0812 9999 0000', null);
        $q = $this->queue([new NotifyWhatsapp("http://127.0.0.1:$port/send", 'tok-123')], 0);
        $q->take($this->notice($m, 'INL-I11', 6, ['B011' => 'Ronggeng Dukuh Paruk'], '654321'));
        $this->assertSame(0, $q->deliverDue());
        $this->assertStringContainsString('HTTP 503', $this->rows()[0]['last_error']);
        file_put_contents("$dir/status", '200');
        $this->now += 60;
        $this->assertSame(1, $q->deliverDue());
        $reqs = glob("$dir/req-*");
        sort($reqs);
        $this->assertCount(2, $reqs);
        $last = json_decode(file_get_contents(end($reqs)), true);
        $this->assertSame('Bearer tok-123', $last['auth']);
        $this->assertSame('application/json', $last['type']);
        $body = json_decode($last['body'], true);
        $this->assertSame('6281299990000', $body['to']);
        $this->assertSame('Buku Anda siap diambil di loker', $body['subject']);
        $this->assertStringContainsString("Loker 6, kode ambil 654321:\n  - Ronggeng Dukuh Paruk (B011)",
            $body['message']);
    }
}

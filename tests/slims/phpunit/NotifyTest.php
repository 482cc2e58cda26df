<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Issue 17, points 2 and 3: one message per patron through SLiMS's shared
// mailer, and a hold that lands whatever the mail does: not configured or
// failing, the patron is "not notified" on the staff page, staff resend,
// and the next requests retry (a few at a time, backing off, bounded).
// The mailer is the mock of SLiMS's (mock-slims.php): one shared instance
// whose to() adds addresses, and a warning when mail is not configured.

use Lokerbuku\Slims\AdminPage;
use Lokerbuku\Slims\Library;
use Lokerbuku\Sync\Notify;

final class NotifyTest extends SlimsTestCase
{
    private string $token;

    protected function setUp(): void
    {
        parent::setUp();
        $this->token = $this->store->addKiosk('k-01', 'Perpustakaan Kota', 1);
        $this->member('M1', 'Siti Aminah', email: 'siti@example.org');
        $this->member('M2', 'Budi Santoso', email: 'budi@example.org');
        $this->item('B1', 'Bumi Manusia');
        $this->item('B2', 'Laskar Pelangi');
    }

    private function load(string ...$holds): array
    {
        $events = [];
        foreach ($holds as $n => $h) {
            $events[] = self::event('hold_loaded', ['hold_id' => $h, 'locker' => $n + 1]);
        }
        return $this->post($this->token, $events);
    }

    public function test_two_holds_in_one_upload_are_two_messages_to_one_patron_each(): void
    {
        // Something else in SLiMS used the shared mailer before.
        \SLiMS\Mail::to('librarian@example.org');
        $h1 = $this->routed('M1', ['B1']);
        $h2 = $this->routed('M2', ['B2']);
        $codes = [];
        \SLiMS\Plugins::getInstance()->register(Library::HOOK, function ($d) use (&$codes) {
            $codes[$d['member']['member_email']] = $d['pickup_code'];
        });
        $this->load($h1, $h2);
        $sent = \SLiMS\Mail::$sent;
        $this->assertSame(['siti@example.org', 'budi@example.org'], array_column($sent, 'to'));
        $this->assertStringContainsString($codes['siti@example.org'], $sent[0]['body']);
        $this->assertStringNotContainsString($codes['budi@example.org'], $sent[0]['body']);
        $this->assertStringContainsString($codes['budi@example.org'], $sent[1]['body']);
        $this->assertStringNotContainsString($codes['siti@example.org'], $sent[1]['body']);
    }

    public function test_mail_not_configured_the_hold_lands_and_staff_see_it(): void
    {
        $GLOBALS['mock_slims_config_mail'] = null;
        $h = $this->routed('M1', ['B1']);
        [$status, $r, $body] = $this->load($h);
        $this->assertSame(200, $status, json_encode($body));
        $this->assertSame('accepted', array_values($r)[0]['status']);
        $row = $this->store->hold($h);
        $this->assertSame(['loaded', 'failed', 1], [$row['state'], $row['notify_state'], (int) $row['notify_tries']]);
        $this->assertNotNull($row['code_sealed'], 'the code waits sealed');
        $this->assertStringContainsString('not configured', $row['note']);
        $page = new AdminPage($this->store, 'self', 'csrf-1', 1);
        $this->assertMatchesRegularExpression('/<tr data-hold="' . $h . '">.*patron not notified.*value="resend"/s',
            $page->render());
        // Configured now: Resend.
        $GLOBALS['mock_slims_config_mail'] = ['server' => '127.0.0.1'];
        $msg = $page->act(['lokerbuku_csrf' => 'csrf-1', 'action' => 'resend', 'hold' => $h], true);
        $this->assertStringContainsString('Saved.', $msg);
        $this->assertSame('siti@example.org', \SLiMS\Mail::$sent[0]['to']);
        $row = $this->store->hold($h);
        $this->assertSame('sent', $row['notify_state']);
        $this->assertNull($row['code_sealed']);
    }

    public function test_a_failing_mail_server_leaves_the_event_accepted(): void
    {
        \SLiMS\Mail::$failWith = 'SMTP connect() failed.';
        $h = $this->routed('M1', ['B1']);
        [$status, $r] = $this->load($h);
        $this->assertSame([200, 'accepted'], [$status, array_values($r)[0]['status']]);
        $this->assertSame('failed', $this->store->hold($h)['notify_state']);
        $this->assertStringContainsString('SMTP connect() failed.', $this->store->hold($h)['note']);
    }

    public function test_unsent_messages_are_retried_when_due_a_few_at_a_time_and_not_forever(): void
    {
        \SLiMS\Mail::$failWith = 'SMTP connect() failed.';
        $h = $this->routed('M1', ['B1']);
        $this->load($h);
        $notify = new Notify($this->store);
        $this->assertSame(0, $notify->retryDue(), 'not due yet: backing off');
        \SLiMS\Mail::$failWith = null;
        $this->db->exec("UPDATE lokerbuku_hold SET notify_next_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND");
        $this->assertSame(1, $notify->retryDue());
        $this->assertSame('sent', $this->store->hold($h)['notify_state']);
        $this->assertSame(0, $notify->retryDue(), 'sent once only');
        $this->assertCount(1, \SLiMS\Mail::$sent);
        // Failing every time: tries stop at TRIES_MAX, then only staff resend.
        \SLiMS\Mail::$failWith = 'down';
        $h2 = $this->routed('M2', ['B2']);
        $this->load($h2);
        for ($i = 0; $i < Notify::TRIES_MAX + 3; $i++) {
            $this->db->exec("UPDATE lokerbuku_hold SET notify_next_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND"
                . " WHERE notify_next_at IS NOT NULL");
            $notify->retryDue();
        }
        $row = $this->store->hold($h2);
        $this->assertSame([Notify::TRIES_MAX, null], [(int) $row['notify_tries'], $row['notify_next_at']]);
    }

    public function test_an_api_request_retries_what_is_due(): void
    {
        // What Api::serve() does after answering: here handle() and then
        // retryDue() as it runs them.
        $GLOBALS['mock_slims_config_mail'] = null;
        $h = $this->routed('M1', ['B1']);
        $this->load($h);
        $GLOBALS['mock_slims_config_mail'] = ['server' => '127.0.0.1'];
        $this->db->exec("UPDATE lokerbuku_hold SET notify_next_at = UTC_TIMESTAMP() - INTERVAL 1 SECOND");
        $this->assertSame(1, (new Notify($this->store))->retryDue());
        $this->assertSame('siti@example.org', \SLiMS\Mail::$sent[0]['to']);
    }
}

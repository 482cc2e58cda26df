<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// POST events: exactly once, hold_loaded (notification), hold_picked_up
// (loans by SLiMS's rules, reservation removed, refusals reported to
// staff), return_deposited (returns and fines), batch errors, and one
// transaction per event.

final class EventsTest extends SlimsTestCase
{
    private string $token;
    private const PICKUP_AT = '2026-11-23T03:00:00.000Z';   // Monday 10:00 in Jakarta

    protected function setUp(): void
    {
        parent::setUp();
        $this->token = $this->store->addKiosk('k-01', 'Perpustakaan Kota', 1);
        $this->member('M0012345', 'Siti Aminah');
        $this->item('B00012', 'Bumi Manusia');
        $this->item('B00013', 'Laskar Pelangi');
    }

    private function pickup(string $holdId, ?array $items = null, ?string $id = null, string $at = self::PICKUP_AT): array
    {
        $p = ['hold_id' => $holdId, 'locker' => 3, 'actor' => 'patron:' . self::hmac('card:M0012345')];
        if ($items !== null) {
            $p['items'] = array_map(fn($b) => ['barcode' => $b], $items);
        }
        return self::event('hold_picked_up', $p, $at, $id);
    }

    private function loans(string $member = 'M0012345'): array
    {
        $st = $this->db->prepare('SELECT item_code, loan_date, due_date, is_lent, is_return, loan_rules_id'
            . ' FROM loan WHERE member_id = ? ORDER BY item_code');
        $st->execute([$member]);
        return $st->fetchAll(\PDO::FETCH_ASSOC);
    }

    public function test_a_pickup_makes_the_loans_and_removes_the_reservations(): void
    {
        $id = $this->routed('M0012345', ['B00012', 'B00013']);
        [$status, $r] = $this->post($this->token, [$e = $this->pickup($id)]);
        $this->assertSame(200, $status);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $loans = $this->loans();
        $this->assertSame(['B00012', 'B00013'], array_column($loans, 'item_code'));
        foreach ($loans as $l) {
            $this->assertSame('2026-11-23', $l['loan_date']);
            $this->assertSame('2026-11-30', $l['due_date']);
            $this->assertSame([1, 0], [(int) $l['is_lent'], (int) $l['is_return']]);
        }
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM reserve'));
        $this->assertSame('picked_up', $this->store->hold($id)['state']);
    }

    public function test_the_same_pickup_twice_makes_one_loan_per_item(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $e = $this->pickup($id);
        $this->post($this->token, [$e]);
        [, $r] = $this->post($this->token, [$e]);
        $this->assertSame('duplicate', $r[$e['id']]['status']);
        // Same id twice in one batch, and a second pickup event of the hold.
        $again = $this->pickup($id);
        [, $r, $body] = $this->post($this->token, [$again, $again]);
        $this->assertCount(1, $body['results']);
        $this->assertSame('accepted', $r[$again['id']]['status']);
        $this->assertCount(1, $this->loans());
        $this->assertSame(2, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_event'), 'both pickup events are kept');
    }

    public function test_the_due_date_skips_weekly_and_dated_holidays(): void
    {
        $this->db->exec("INSERT INTO holiday (holiday_dayname, holiday_date) VALUES ('mon', NULL),"
            . " ('Tue', '2026-12-01')");
        $id = $this->routed('M0012345', ['B00012']);
        $this->post($this->token, [$this->pickup($id)]);
        // 2026-11-30 is a Monday, 12-01 a holiday of its own: Wednesday.
        $this->assertSame('2026-12-02', $this->loans()[0]['due_date']);
    }

    public function test_the_due_date_is_never_after_the_membership_ends(): void
    {
        $this->member('M-SOON', 'Budi', '2026-11-26');
        $id = $this->routed('M-SOON', ['B00012']);
        $this->post($this->token, [$this->pickup($id)]);
        $this->assertSame('2026-11-26', $this->loans('M-SOON')[0]['due_date']);
    }

    public function test_the_loan_date_is_the_librarys_day_not_utcs(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->post($this->token, [$this->pickup($id, null, null, '2026-11-22T18:30:00Z')]);
        $this->assertSame('2026-11-23', $this->loans()[0]['loan_date']);
    }

    public function test_a_loan_rule_for_the_collection_type_sets_period_and_limit(): void
    {
        $this->db->exec("INSERT INTO mst_loan_rules (loan_rules_id, member_type_id, coll_type_id, gmd_id,"
            . " loan_limit, loan_periode, fine_each_day) VALUES (9, 1, 4, 0, 5, 14, 1000)");
        $this->item('B-REF', 'Kamus', null, 4);
        $id = $this->routed('M0012345', ['B-REF']);
        $this->post($this->token, [$this->pickup($id)]);
        $l = $this->loans()[0];
        $this->assertSame(['2026-12-07', 9], [$l['due_date'], (int) $l['loan_rules_id']]);
    }

    /** @return array{0: string, 1: array} the hold id and the event's stored row */
    private function refusedPickup(string $member, array $items): array
    {
        $id = $this->routed($member, $items);
        [, $r] = $this->post($this->token, [$e = $this->pickup($id)]);
        $this->assertSame('accepted', $r[$e['id']]['status'], 'a pickup is a fact: never rejected');
        $this->assertSame('picked_up', $this->store->hold($id)['state']);
        return [$id, $this->row('SELECT outcome, attention FROM lokerbuku_event WHERE event_id = ?', [$e['id']])];
    }

    public function test_an_expired_member_gets_no_loan_and_staff_are_told(): void
    {
        $this->member('M-OLD', 'Lama', '2026-11-01');
        [, $ev] = $this->refusedPickup('M-OLD', ['B00012']);
        $this->assertSame([], $this->loans('M-OLD'));
        $this->assertSame(1, (int) $ev['attention']);
        $this->assertStringContainsString('B00012: member_expired', $ev['outcome']);
        $this->assertSame(1, $this->rowsOf('SELECT COUNT(*) FROM reserve'), 'the reservation stays for staff');
    }

    public function test_a_pending_member_gets_no_loan(): void
    {
        $this->member('M-NEW', 'Baru', '2030-01-01', 1);
        [, $ev] = $this->refusedPickup('M-NEW', ['B00012']);
        $this->assertSame([], $this->loans('M-NEW'));
        $this->assertStringContainsString('member_pending', $ev['outcome']);
    }

    public function test_a_no_loan_item_is_refused_and_the_others_lent(): void
    {
        $this->item('B-NOLOAN', 'Referensi', 'R');
        [, $ev] = $this->refusedPickup('M0012345', ['B00012', 'B-NOLOAN']);
        $this->assertSame(['B00012'], array_column($this->loans(), 'item_code'));
        $this->assertStringContainsString('B-NOLOAN: item_no_loan', $ev['outcome']);
    }

    public function test_an_item_already_lent_is_refused(): void
    {
        $this->member('M2', 'Budi');
        $this->lend('M2', 'B00012', '2026-11-01', '2026-11-08');
        [, $ev] = $this->refusedPickup('M0012345', ['B00012']);
        $this->assertSame([], $this->loans());
        $this->assertStringContainsString('item_already_lent', $ev['outcome']);
    }

    public function test_the_loan_limit_is_kept(): void
    {
        $this->item('B1');
        $this->item('B2');
        $this->lend('M0012345', 'B1', '2026-11-01', '2026-11-08');
        // Limit 2 of the member type: one more fits, the second does not.
        [, $ev] = $this->refusedPickup('M0012345', ['B00012', 'B00013']);
        $this->assertSame(['B00012', 'B1'], array_column($this->loans(), 'item_code'));
        $this->assertStringContainsString('B00013: loan_limit_reached', $ev['outcome']);
    }

    public function test_an_item_another_member_reserved_first_is_refused(): void
    {
        $this->member('M2', 'Budi');
        $id = $this->routed('M0012345', ['B00012']);
        // Someone's older reservation appears after routing (a data fix).
        $this->reserve('M2', 'B00012', '2020-01-01 00:00:00');
        $this->post($this->token, [$e = $this->pickup($id)]);
        $this->assertSame([], $this->loans());
        $this->assertStringContainsString('item_reserved_by_other',
            $this->row('SELECT outcome FROM lokerbuku_event WHERE event_id = ?', [$e['id']])['outcome']);
    }

    public function test_a_hold_event_for_an_unknown_hold_is_rejected_and_not_stored(): void
    {
        $this->store->addKiosk('k-02', '', 1);
        $other = $this->routed('M0012345', ['B00012'], 'k-02');
        [, $r] = $this->post($this->token, [$a = $this->pickup('no-such-hold'), $b = $this->pickup($other)]);
        $this->assertSame(['rejected', 'unknown_hold'], [$r[$a['id']]['status'], $r[$a['id']]['reason']]);
        $this->assertSame('unknown_hold', $r[$b['id']]['reason'], "another kiosk's hold");
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_event'));
        $this->assertSame([], $this->loans());
    }

    public function test_invalid_events_are_rejected_invalid(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $bad = [
            array_merge($this->pickup($id), ['at' => 'yesterday']),
            array_merge($this->pickup($id), ['seq' => 0]),
            array_merge($this->pickup($id), ['payload' => [1]]),
            array_merge($this->pickup($id), ['type' => 'Hold Picked Up']),
            self::event('hold_picked_up', ['locker' => 1]),
            self::event('hold_loaded', ['hold_id' => $id, 'locker' => 'three']),
            self::event('hold_picked_up', ['hold_id' => $id, 'items' => [['code' => 'B00012']]]),
        ];
        [, $r] = $this->post($this->token, $bad);
        foreach ($bad as $i => $e) {
            $this->assertSame('rejected', $r[$e['id']]['status'], "event $i");
            $this->assertStringStartsWith('invalid', $r[$e['id']]['reason'], "event $i");
        }
        $this->assertSame([], $this->loans());
        $this->assertSame('pending', $this->store->hold($id)['state']);
    }

    public function test_unknown_types_and_history_are_stored(): void
    {
        [, $r] = $this->post($this->token, [$a = self::event('from_a_newer_kiosk', ['x' => 1]),
            $b = self::event('door_forced_open', ['locker' => 2, 'hold_id' => 'whatever'])]);
        $this->assertSame('accepted', $r[$a['id']]['status']);
        $this->assertSame('accepted', $r[$b['id']]['status']);
        $this->assertSame(1, $this->rowsOf('SELECT attention FROM lokerbuku_event WHERE event_id = ?', [$b['id']]));
    }

    public function test_batch_errors_store_nothing(): void
    {
        $e = self::event('door_closed', ['locker' => 1]);
        $cases = [
            ['{"events": [', 400], ['[]', 400], ['{"events": []}', 400], ['{"events": {}}', 400],
            ["{\"events\": [\"\xff\"]}", 400], ['{"events": [1]}', 422],
            [json_encode(['events' => [$e, ['id' => 'NOT-A-UUID']]]), 422],
            [json_encode(['events' => [$e, array_merge($e, ['id' => strtoupper(self::uuid())])]]), 422],
        ];
        foreach ($cases as [$body, $want]) {
            [$status, , $reply] = $this->api('POST', '/kiosks/k-01/events', $this->token, $body);
            $this->assertSame($want, $status, $body);
            $this->assertSame($want === 400 ? 'bad_request' : 'invalid', $reply['error']['code']);
        }
        $many = [];
        for ($i = 0; $i < 501; $i++) {
            $many[] = self::event('door_closed', ['locker' => 1]);
        }
        [$status, , $reply] = $this->api('POST', '/kiosks/k-01/events', $this->token, ['events' => $many]);
        $this->assertSame([413, 'too_large'], [$status, $reply['error']['code']]);
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_event'));
    }

    public function test_events_are_applied_in_seq_order(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $load = self::event('hold_loaded', ['hold_id' => $id, 'locker' => 4]);
        $pick = $this->pickup($id);
        // Sent newest first: the load still comes first.
        $this->post($this->token, [$pick, $load]);
        $this->assertSame('picked_up', $this->store->hold($id)['state']);
        $this->assertNotNull($this->store->hold($id)["ready_since"], "loaded before it was picked up");
        // Collected in the same upload: nothing left to tell the patron.
        $this->assertCount(0, \SLiMS\Mail::$sent);
    }

    public function test_a_failure_inside_an_event_leaves_nothing_of_it(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        // Deleting the reservation (the last write of the loan) fails.
        $this->db->exec("CREATE TRIGGER no_delete BEFORE DELETE ON reserve FOR EACH ROW"
            . " SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk on fire'");
        [$status, , $body] = $this->api('POST', '/kiosks/k-01/events', $this->token, ['events' => [$e = $this->pickup($id)]]);
        $this->assertSame(500, $status, json_encode($body));
        $this->assertSame([], $this->loans());
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM lokerbuku_event'));
        $this->assertSame('pending', $this->store->hold($id)['state']);
        $this->db->exec('DROP TRIGGER no_delete');
        [, $r] = $this->post($this->token, [$e]);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $this->assertCount(1, $this->loans());
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM reserve'));
    }

    public function test_a_failed_event_after_good_ones_leaves_it_for_later(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->db->exec("CREATE TRIGGER no_delete BEFORE DELETE ON reserve FOR EACH ROW"
            . " SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'disk on fire'");
        $door = self::event('door_closed', ['locker' => 1]);
        [$status, $r, $body] = $this->post($this->token, [$door, $e = $this->pickup($id)]);
        $this->assertSame(200, $status);
        $this->assertSame(['accepted'], array_column($body['results'], 'status'));
        $this->assertArrayNotHasKey($e['id'], $r);
    }

    public function test_a_load_marks_the_hold_ready_and_mails_the_code(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $hooked = null;
        \SLiMS\Plugins::getInstance()->register(\Lokerbuku\Slims\Library::HOOK, function ($d) use (&$hooked) {
            $hooked = $d->getArrayCopy();
        });
        [, $r] = $this->post($this->token, [$e = self::event('hold_loaded',
            ['hold_id' => $id, 'locker' => 5, 'items' => [['barcode' => 'B00012']]], '2026-11-23T03:00:00Z')]);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $h = $this->store->hold($id);
        $this->assertSame(['loaded', 5], [$h['state'], (int) $h['locker']]);
        $this->assertSame('2026-11-23 03:00:00.000', $h['ready_since']);
        $this->assertSame('2026-11-30 03:00:00', $h['expires_at']);
        $this->assertSame('M0012345', $hooked['member']['member_id']);
        $this->assertSame([['item_code' => 'B00012', 'title' => 'Bumi Manusia']], $hooked['items']);
        $this->assertSame(['id' => 'k-01', 'name' => 'Perpustakaan Kota'], $hooked['kiosk']);
        $this->assertSame(5, $hooked['locker']);
        $this->assertSame(self::hmac('code:' . $hooked['pickup_code']), $h['code_hmac']);
        $this->assertCount(1, \SLiMS\Mail::$sent);
        $mail = \SLiMS\Mail::$sent[0];
        $this->assertSame('siti@example.org', $mail['to']);
        $this->assertStringContainsString($hooked['pickup_code'], $mail['body']);
        $this->assertStringContainsString('locker 5', $mail['body']);
        $this->assertNull($h['code_sealed'], 'the clear code is forgotten once sent');
        // The kiosk learns the new expiry through changes.
        [, , $c] = $this->api('GET', '/kiosks/k-01/changes', $this->token);
        $this->assertSame('2026-11-30T03:00:00Z', $c['holds'][0]['expires_at']);
    }

    public function test_a_notification_plugin_can_replace_the_email(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        \SLiMS\Plugins::getInstance()->register(\Lokerbuku\Slims\Library::HOOK, function ($d) {
            $d['sent'] = true;
        });
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 5])]);
        $this->assertSame([], \SLiMS\Mail::$sent);
    }

    public function test_the_email_speaks_indonesian_when_slims_does(): void
    {
        putenv('LOKERBUKU_SLIMS_LANG=id_ID');
        try {
            $id = $this->routed('M0012345', ['B00012']);
            $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $id, 'locker' => 5])]);
            $this->assertStringContainsString('loker', \SLiMS\Mail::$sent[0]['body']);
            $this->assertStringContainsString('Buku Anda', \SLiMS\Mail::$sent[0]['subject']);
        } finally {
            putenv('LOKERBUKU_SLIMS_LANG');
        }
    }

    public function test_a_hold_loaded_after_it_was_cancelled_gets_an_unload_command(): void
    {
        $id = $this->routed('M0012345', ['B00012']);
        $this->store->cancelHold($id);
        [, $r] = $this->post($this->token, [$e = self::event('hold_loaded', ['hold_id' => $id, 'locker' => 2])]);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $this->assertSame(1, $this->rowsOf("SELECT COUNT(*) FROM lokerbuku_command WHERE type = 'unload_hold'"
            . ' AND hold_id = ?', [$id]));
        $this->assertSame([], \SLiMS\Mail::$sent);
    }

    public function test_unloaded_and_expired_holds_are_finished_and_reservations_kept(): void
    {
        $a = $this->routed('M0012345', ['B00012']);
        $b = $this->routed('M0012345', ['B00013']);
        $this->post($this->token, [self::event('hold_loaded', ['hold_id' => $b, 'locker' => 1]),
            self::event('hold_unloaded', ['hold_id' => $a, 'locker' => 2]),
            $exp = self::event('hold_expired', ['hold_id' => $b, 'locker' => 1])]);
        $this->assertSame('unloaded', $this->store->hold($a)['state']);
        $this->assertSame('expired', $this->store->hold($b)['state']);
        $this->assertSame(2, $this->rowsOf('SELECT COUNT(*) FROM reserve'));
        $this->assertSame(1, $this->rowsOf('SELECT attention FROM lokerbuku_event WHERE event_id = ?', [$exp['id']]));
        [, , $c] = $this->api('GET', '/kiosks/k-01/changes', $this->token);
        $this->assertSame([], $c['holds']);
    }

    public function test_a_deposit_with_barcodes_returns_the_loans_and_fines_late_ones(): void
    {
        $this->store->setKioskSettings('k-01', 7, false, 1, true);   // automatic check-in
        $this->member('M2', 'Budi');
        $this->lend('M2', 'B00012', '2026-11-01', '2026-11-20');   // 3 days late on 11-23
        $this->lend('M2', 'B00013', '2026-11-20', '2026-11-27');   // on time
        [, $r] = $this->post($this->token, [$e = self::event('return_deposited', ['locker' => 11,
            'actor' => 'patron:' . self::hmac('card:M2'),
            'items' => [['barcode' => 'B00012'], ['barcode' => 'B00013'], ['barcode' => 'B-NOT-LENT']]],
            self::PICKUP_AT)]);
        $this->assertSame('accepted', $r[$e['id']]['status']);
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM loan WHERE is_return = 0'));
        $this->assertSame(2, $this->rowsOf("SELECT COUNT(*) FROM loan WHERE return_date = '2026-11-23'"));
        $fine = $this->row('SELECT fines_date, member_id, debet, credit, description FROM fines');
        $this->assertSame(['2026-11-23', 'M2', 1500, 0, 'Overdue fines for item B00012'],
            [$fine['fines_date'], $fine['member_id'], (int) $fine['debet'], (int) $fine['credit'], $fine['description']]);
        $ev = $this->row('SELECT outcome, attention FROM lokerbuku_event WHERE event_id = ?', [$e['id']]);
        $this->assertSame(1, (int) $ev['attention'], 'a barcode that was not on loan needs staff');
    }

    public function test_no_fine_within_the_grace_period(): void
    {
        $this->store->setKioskSettings('k-01', 7, false, 1, true);
        $this->db->exec('UPDATE mst_member_type SET grace_periode = 3');
        $this->member('M2', 'Budi');
        $this->lend('M2', 'B00012', '2026-11-01', '2026-11-20');
        $this->post($this->token, [self::event('return_deposited', ['locker' => 11,
            'items' => [['barcode' => 'B00012']]], self::PICKUP_AT)]);
        $this->assertSame(0, $this->rowsOf('SELECT COUNT(*) FROM fines'));
        $this->assertSame(1, $this->rowsOf('SELECT COUNT(*) FROM loan WHERE is_return = 1'));
    }

    public function test_holidays_are_not_fined_when_slims_is_set_so(): void
    {
        $this->store->setKioskSettings('k-01', 7, false, 1, true);
        $this->db->exec("REPLACE INTO setting (setting_name, setting_value) VALUES ('ignore_holidays_fine_calc', 'b:1;')");
        $this->db->exec("INSERT INTO holiday (holiday_dayname, holiday_date) VALUES ('sun', NULL)");
        $this->member('M2', 'Budi');
        $this->lend('M2', 'B00012', '2026-11-01', '2026-11-20');   // Fri; Sun 22 is off
        $this->post($this->token, [self::event('return_deposited', ['locker' => 11,
            'items' => [['barcode' => 'B00012']]], self::PICKUP_AT)]);
        $this->assertSame(1000, $this->rowsOf('SELECT debet FROM fines'));
    }

    public function test_a_deposit_without_barcodes_waits_for_staff(): void
    {
        $this->member('M2', 'Budi');
        $this->lend('M2', 'B00012', '2026-11-01', '2026-11-20');
        $this->post($this->token, [$e = self::event('return_deposited', ['locker' => 12, 'actor' => 'service'])]);
        $this->assertSame(1, $this->rowsOf('SELECT COUNT(*) FROM loan WHERE is_return = 0'));
        $ev = $this->row('SELECT outcome, attention FROM lokerbuku_event WHERE event_id = ?', [$e['id']]);
        $this->assertSame(1, (int) $ev['attention']);
        $this->assertStringContainsString('locker 12', $ev['outcome']);
    }

    public function test_items_routed_without_a_reservation_are_lent_on_pickup(): void
    {
        $this->member('M2', 'Budi');
        $id = $this->store->routeItems('M0012345', ['B00012', 'B00013'], 'k-01', 'large');
        $this->assertStringStartsWith('SLiMS-I', $id);
        [, , $c] = $this->api('GET', '/kiosks/k-01/changes', $this->token);
        $this->assertSame(['B00012', 'B00013'], array_column($c['holds'][0]['items'], 'barcode'));
        $this->post($this->token, [$this->pickup($id)]);
        $this->assertSame(['B00012', 'B00013'], array_column($this->loans(), 'item_code'));
        // Another member's reservation ahead, an unknown item: refused.
        $this->item('B3');
        $this->reserve('M2', 'B3');
        foreach ([['B3'], ['NO-SUCH']] as $items) {
            try {
                $this->store->routeItems('M0012345', $items, 'k-01');
                $this->fail(implode(',', $items) . ' routed');
            } catch (InvalidArgumentException $e) {
                $this->assertNotSame('', $e->getMessage());
            }
        }
    }

    /**
     * The same event uploaded twice at the same time (a retry while the
     * first upload is still running): the second waits for the first and
     * answers duplicate; one loan. The first upload is played by a second
     * connection that holds the event's row until a child process commits
     * it half a second later.
     */
    public function test_a_concurrent_upload_of_the_same_event_applies_it_once(): void
    {
        if (!function_exists('pcntl_fork')) {
            $this->markTestSkipped('needs pcntl');
        }
        $id = $this->routed('M0012345', ['B00012']);
        $e = $this->pickup($id);
        $pid = pcntl_fork();
        if ($pid === 0) {
            // The child: its own connection plays the first upload.
            $dsn = 'mysql:unix_socket=' . getenv('LOKERBUKU_SLIMS_DB_SOCKET') . ';dbname=slims;charset=utf8mb4';
            $other = new \PDO($dsn, 'root', '', [\PDO::ATTR_ERRMODE => \PDO::ERRMODE_EXCEPTION]);
            $store = new \Lokerbuku\Slims\Store($other);
            $other->beginTransaction();
            $other->prepare("INSERT INTO lokerbuku_event (event_id, kiosk_id, seq, type, at, payload, received_at)"
                . " VALUES (?, 'k-01', 1, 'hold_picked_up', NOW(), '{}', NOW())")->execute([$e['id']]);
            (new \Lokerbuku\Slims\Circulation($other))->checkOut('M0012345', ['B00012'], '2026-11-23',
                new \Lokerbuku\Sync\Actor(1, 'Administrator'));
            file_put_contents(sys_get_temp_dir() . '/lokerbuku-race-' . getmypid(), 'held');
            usleep(500000);
            $other->commit();
            posix_kill(getmypid(), SIGKILL);   // no PHPUnit shutdown in the child
        }
        $flag = sys_get_temp_dir() . '/lokerbuku-race-' . $pid;
        for ($i = 0; $i < 100 && !is_file($flag); $i++) {
            usleep(20000);
        }
        $this->assertFileExists($flag, 'the first upload never started');
        unlink($flag);
        $t = microtime(true);
        [$status, $r] = $this->post($this->token, [$e]);
        $waited = microtime(true) - $t;
        pcntl_waitpid($pid, $st);
        $this->assertSame(200, $status);
        $this->assertSame('duplicate', $r[$e['id']]['status']);
        $this->assertGreaterThan(0.2, $waited, 'the second upload did not wait for the first');
        $this->assertCount(1, $this->loans());
    }
}

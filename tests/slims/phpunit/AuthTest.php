<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Authentication and routing of the API: tokens stored hashed, 401, 403,
// 404, 405, and the JSON error body.

final class AuthTest extends SlimsTestCase
{
    public function test_tokens_are_stored_only_as_sha256(): void
    {
        $token = $this->store->addKiosk('k-01', '', 1);
        $this->assertMatchesRegularExpression('/^[0-9a-f]{64}$/', $token);
        $dump = json_encode($this->db->query('SELECT * FROM lokerbuku_kiosk')->fetchAll());
        $this->assertStringNotContainsString($token, $dump);
        $this->assertStringContainsString(hash('sha256', $token), $dump);
    }

    public function test_no_or_wrong_or_basic_token_is_401_with_www_authenticate(): void
    {
        $this->store->addKiosk('k-01', '', 1);
        foreach ([null, str_repeat('ab', 32)] as $token) {
            [$status, $headers, $body] = $this->api('GET', '/kiosks/k-01/changes', $token);
            $this->assertSame(401, $status);
            $this->assertSame('Bearer', $headers['WWW-Authenticate']);
            $this->assertSame('unauthorized', $body['error']['code']);
        }
        $api = new \Lokerbuku\Sync\Api($this->store);
        [$status] = $api->handle('GET', 'p=api/locker/v1/kiosks/k-01/changes', 'Basic a2lvc2s6c2VjcmV0', '');
        $this->assertSame(401, $status);
    }

    public function test_a_token_on_another_kiosks_path_is_403(): void
    {
        $t1 = $this->store->addKiosk('k-01', '', 1);
        $this->store->addKiosk('k-02', '', 1);
        [$status, , $body] = $this->api('GET', '/kiosks/k-02/changes', $t1);
        $this->assertSame(403, $status);
        $this->assertSame('forbidden', $body['error']['code']);
        [$status] = $this->api('GET', '/kiosks/nobody/changes', $t1);
        $this->assertSame(403, $status);
    }

    public function test_a_renewed_token_replaces_the_old_one(): void
    {
        $old = $this->store->addKiosk('k-01', '', 1);
        $new = $this->store->renewToken('k-01');
        $this->assertSame(401, $this->api('GET', '/kiosks/k-01/changes', $old)[0]);
        $this->assertSame(200, $this->api('GET', '/kiosks/k-01/changes', $new)[0]);
    }

    public function test_unknown_paths_are_404_and_wrong_methods_405(): void
    {
        $t = $this->store->addKiosk('k-01', '', 1);
        $this->assertSame(404, $this->api('GET', '/kiosks/k-01/nothing', $t)[0]);
        $this->assertSame(404, $this->api('GET', '/kiosks/k-01/nothing', null)[0]);
        $this->assertSame(404, $this->api('GET', '/elsewhere', $t)[0]);
        [$status, , $body] = $this->api('GET', '/kiosks/k-01/events', $t);
        $this->assertSame(405, $status);
        $this->assertSame('method_not_allowed', $body['error']['code']);
        $this->assertSame(405, $this->api('POST', '/kiosks/k-01/changes', $t, '{}')[0]);
    }

    public function test_a_database_failure_is_a_500_json_body(): void
    {
        $t = $this->store->addKiosk('k-01', '', 1);
        $this->db->exec('DROP TABLE lokerbuku_seq');
        [$status, , $body] = $this->api('GET', '/kiosks/k-01/changes', $t);
        $this->assertSame(500, $status);
        $this->assertSame('internal', $body['error']['code']);
    }

    public function test_the_route_takes_the_query_after_the_second_question_mark(): void
    {
        [$p, $params] = \Lokerbuku\Sync\Api::splitQuery(
            'p=api/locker/v1/kiosks/k-01/changes?limit=500&cursor=s%3A48213');
        $this->assertSame('api/locker/v1/kiosks/k-01/changes?limit=500', $p);
        $r = \Lokerbuku\Sync\Api::route($p, $params);
        $this->assertSame(['k-01', 'changes', null, ['limit' => '500', 'cursor' => 's:48213']], $r);
        [$p, $params] = \Lokerbuku\Sync\Api::splitQuery('p=api/locker/v1/kiosks/k-01/items/B%2F00%3F12%26x');
        $this->assertSame(['k-01', 'items', 'B/00?12&x', []], \Lokerbuku\Sync\Api::route($p, $params));
    }
}

<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Staff read every reason a pickup or a return can be refused for in
// words, in Bahasa Indonesia and in English: the shared code's codes
// (Outcome) and INLISLite's own checks (Circulation), never a raw code.

use Lokerbuku\Inlislite\Circulation;
use Lokerbuku\Inlislite\StaffText;
use Lokerbuku\Sync\Outcome;
use PHPUnit\Framework\TestCase;

final class StaffTextTest extends TestCase
{
    public function testEveryRefusalCodeIsWordedInBothLanguages(): void
    {
        $codes = array_merge((new ReflectionClass(Outcome::class))->getConstants(),
            (new ReflectionClass(Circulation::class))->getConstants());
        $this->assertGreaterThan(15, count($codes));
        foreach (['id', 'en'] as $lang) {
            $t = new StaffText($lang);
            foreach (array_unique($codes) as $code) {
                $this->assertStringNotContainsString('_', $t->reasons("B-1: $code"), "$lang: $code");
            }
        }
        $this->assertSame('B-1: anggota sedang diskors (pelanggaran); B-2: tidak sedang dipinjam',
            (new StaffText('id'))->reasons('B-1: member_suspended; B-2: not_on_loan'));
    }
}

<?php
// SPDX-License-Identifier: GPL-2.0-or-later
// Due dates and late days by INLISLite's calendar: its weekend settings
// and `holidays`, 3.x's working days against 3.3's calendar days.

use Lokerbuku\Inlislite\Version;

final class CalendarTest extends InlisliteTestCase
{
    private function due(string $loanAt, int $days): string
    {
        $c = $this->circulation();
        return Version::of($this->version)->dueDate($c->calendar(), $loanAt, $days);
    }

    private function late(string $due, string $back): int
    {
        $c = $this->circulation();
        return Version::of($this->version)->lateDays($c->calendar(), $due, $back);
    }

    public function testDueDateSkipsWeekendsAndHolidaysIn3x(): void
    {
        $this->useVersion('3.2');
        // Thursday + 7 working days: Monday 14th.
        $this->assertSame('2026-12-14 00:00:00', $this->due('2026-12-03 10:15:00', 7));
        // Friday + 1: Monday.
        $this->assertSame('2026-12-07 00:00:00', $this->due('2026-12-04 17:00:00', 1));
        // No loan days in any rule: the loan day itself.
        $this->assertSame('2026-12-03 00:00:00', $this->due('2026-12-03 10:15:00', 0));
        // A holiday inside the period adds a day.
        $this->sql("INSERT INTO holidays (Dates, Names) VALUES ('2026-12-08', 'Libur')");
        $this->assertSame('2026-12-15 00:00:00', $this->due('2026-12-03 10:15:00', 7));
        // A holiday that pushes the end onto a Saturday: moved to Monday.
        $this->assertSame('2026-12-14 00:00:00', $this->due('2026-12-07 10:00:00', 4));
    }

    public function testWeekendsCountWhenTheSettingsSaySo(): void
    {
        $this->useVersion('3.2');
        $this->sql("UPDATE settingparameters SET Value = 'False' WHERE Name IN ('IsSaturdayHoliday', 'IsSundayHoliday')");
        $this->assertSame('2026-12-10 00:00:00', $this->due('2026-12-03 10:15:00', 7));
        $this->assertSame(7, $this->late('2026-12-14 00:00:00', '2026-12-21 09:00:00'));
    }

    public function testDueDateIsNowPlusDaysIn33(): void
    {
        $this->useVersion('3.3');
        $this->sql("INSERT INTO holidays (Dates, Names) VALUES ('2026-12-08', 'Libur')");
        $this->assertSame('2026-12-10 10:15:00', $this->due('2026-12-03 10:15:00', 7));
        $this->assertSame('2026-12-05 17:00:00', $this->due('2026-12-04 17:00:00', 1));
    }

    /** @dataProvider versions */
    public function testLateDays(string $v): void
    {
        $this->useVersion($v);
        $this->assertSame(0, $this->late('2026-12-14 00:00:00', '2026-12-14 18:00:00'));
        $this->assertSame(0, $this->late('2026-12-14 00:00:00', '2026-12-10 09:00:00'));
        // Monday to the next Monday: 3.x takes the weekend off.
        $this->assertSame($v === '3.3' ? 7 : 5, $this->late('2026-12-14 00:00:00', '2026-12-21 09:00:00'));
        // Saturday and Sunday only: not late in 3.x.
        $this->assertSame($v === '3.3' ? 2 : 0, $this->late('2026-12-18 00:00:00', '2026-12-20 09:00:00'));
        // A holiday (3.3: only a row switched on counts, and late days ignore it anyway).
        $this->sql("INSERT INTO holidays (Dates, Names) VALUES ('2026-12-16', 'Libur')");
        $this->assertSame($v === '3.3' ? 7 : 4, $this->late('2026-12-14 00:00:00', '2026-12-21 09:00:00'));
    }
}

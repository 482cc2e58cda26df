<?php namespace Lokerbuku\Slims; final class AdminPage {}

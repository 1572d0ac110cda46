#!/bin/sh
echo "$V"

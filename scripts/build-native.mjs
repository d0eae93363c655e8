// Placeholder replaced by the native backend work; keeps `npm install` working meanwhile.
process.exit(0);

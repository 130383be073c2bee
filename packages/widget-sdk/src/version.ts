/** Version of this SDK build; the server serves the script-tag build under `/widget/<version>/`. */
export const SDK_VERSION = '0.1.0';

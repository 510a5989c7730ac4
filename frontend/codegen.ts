import type { CodegenConfig } from '@graphql-codegen/cli';

// `npm run codegen`: TypeScript for every GraphQL document of the app and the bank's refusal
// texts, from the endpoint's schema as checked in beside it (`cargo run -p graphql-endpoint --bin
// print-schema -- --write` updates that file; a Rust test fails while it is behind). The output
// in src/generated/ is not checked in: build, typecheck, test, test:e2e and dev make it first.
const config: CodegenConfig = {
  schema: '../graphql-endpoint/schema.graphql',
  documents: ['src/**/*.{ts,tsx}', '!src/generated/**'],
  generates: {
    'src/generated/': {
      preset: 'client',
      // The app reads its answers whole; it does not hide fields behind fragment types.
      presetConfig: { fragmentMasking: false },
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        skipTypename: true,
        strictScalars: true,
        // A field the schema allows to be null is `T | null`, always present, as the API
        // answers it; variables the schema lets go unset stay optional.
        avoidOptionals: { field: true, object: true, inputValue: false, defaultValue: false },
      },
    },
    'src/generated/refusals.ts': { plugins: ['./codegen/refusals.js'] },
  },
};

export default config;
